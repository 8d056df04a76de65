package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/idsnap/idsnap"
)

// RenderEvents writes webhook events (idsnap events) in format f, times in
// loc (nil: UTC). JSON keeps each verified payload.
func RenderEvents(w io.Writer, f Format, events []idsnap.Event, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	if f == FormatJSON {
		if events == nil {
			events = []idsnap.Event{}
		}
		return renderSafeJSON(w, events)
	}
	t := Table{Header: []string{"occurred_at", "source", "type", "user", "organizations", "event_id", "received_at"}}
	if f == FormatTable || f == FormatMarkdown || f == "" {
		t.Header = []string{"OCCURRED AT", "SOURCE", "TYPE", "USER", "ORGANIZATIONS", "EVENT ID", "RECEIVED AT"}
	}
	for _, e := range events {
		row := []string{e.OccurredAt.In(loc).Format(time.RFC3339), e.Source, e.Type, e.UserID,
			strings.Join(e.Orgs, " "), e.ID, e.ReceivedAt.In(loc).Format(time.RFC3339)}
		if f == FormatCSV {
			for i := range row {
				row[i] = safeCell(row[i])
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if len(events) == 0 && f != FormatCSV {
		_, err := fmt.Fprintln(w, "no webhook events")
		return err
	}
	return RenderTable(w, f, t)
}
