package ingest

import (
	"os"
	"runtime/debug"
)

// gcPercent is the collector's heap growth for a pulling process.
const gcPercent = 200

// TuneGC sets the garbage collector for a process whose work is pulling,
// unless the GOGC environment variable already says how. A pull drops
// nearly everything it allocates (pages, records, batches) soon after,
// and what it keeps, the index of current versions, lives outside the Go
// heap: at the default heap goal, collections were 6–9% of a re-pull's
// CPU. Letting the heap grow to three times what is live instead of two
// halves them for a few tens of megabytes. idsnap pull and the bench's
// pull child call it.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
