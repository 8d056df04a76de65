package zitadeltest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

var pageBufs = sync.Pool{New: func() any { return new([]byte) }}

// answer is a listing answer being assembled: the struct
// {details, sortingColumn (omitempty), result (omitempty)} as
// json.Encoder writes it, trailing newline included.
type answer struct {
	buf  *[]byte
	rows int
}

// newAnswer starts an answer; sorting "" is omitted.
func newAnswer(d listDetails, sorting string) *answer {
	a := &answer{buf: pageBufs.Get().(*[]byte)}
	b := append((*a.buf)[:0], `{"details":`...)
	det, err := json.Marshal(d)
	if err != nil {
		panic("zitadeltest: encode details: " + err.Error())
	}
	b = append(b, det...)
	if sorting != "" {
		b = append(b, `,"sortingColumn":`...)
		q, _ := json.Marshal(sorting) // echoed from the request: quote it as encoding/json does
		b = append(b, q...)
	}
	*a.buf = b
	return a
}

// add appends one encoded row to the result.
func (a *answer) add(row []byte) {
	if a.rows == 0 {
		*a.buf = append(*a.buf, `,"result":[`...)
	} else {
		*a.buf = append(*a.buf, ',')
	}
	*a.buf = append(*a.buf, row...)
	a.rows++
}

// write closes the answer and writes it with its length, then returns the
// buffer to the pool. Call it without the tenant's lock held.
func (a *answer) write(w http.ResponseWriter) {
	b := *a.buf
	if a.rows > 0 {
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	*a.buf = b
	pageBufs.Put(a.buf)
}
