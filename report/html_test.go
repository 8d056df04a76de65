package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/idsnap/idsnap"
	hostilenames "github.com/idsnap/idsnap/internal/hostile"
)

// htmlFixture is three days of kinde (baseline before the period, then
// daily snapshots) and two of zitadel, every hostile profile joining and
// taking a grant, and the findings golden tenant.
func htmlFixture(t testing.TB) (HTMLReport, int) {
	day0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	snap := func(id int64, src string, at time.Time, users, grants int64) idsnap.Snapshot {
		return idsnap.Snapshot{ID: id, Source: src, Provider: src, TakenAt: at,
			Counts: map[idsnap.Kind]int64{idsnap.KindUser: users, idsnap.KindResource: 1, idsnap.KindEntitlement: 1, idsnap.KindGrant: grants},
			Digest: fmt.Sprintf("%064x", id), ChainDigest: fmt.Sprintf("%064x", id*7)}
	}
	user := func(id, email, name string) *idsnap.Record {
		return &idsnap.Record{Kind: idsnap.KindUser, ID: id, Email: email, Name: name, Status: idsnap.StatusActive}
	}
	org := &idsnap.Ref{ID: "org1", Name: "Acme <b>bold</b>"}
	ent := &idsnap.Ref{ID: "org1:admin", Name: "admin"}
	var kinde []idsnap.Change
	for i, h := range hostilenames.People {
		id := fmt.Sprintf("kp_%d", i)
		name := h.First + " " + h.Last
		kinde = append(kinde,
			idsnap.Change{SnapshotID: 2, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: id, After: user(id, h.Email, name)},
			idsnap.Change{SnapshotID: 2, Type: idsnap.Granted, Kind: idsnap.KindGrant, ID: idsnap.GrantID(id, ent.ID),
				After:     &idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID(id, ent.ID), PrincipalID: id, ResourceID: "org1", EntitlementID: ent.ID},
				Principal: &idsnap.Ref{ID: id, Name: name, Email: h.Email}, Resource: org, Entitlement: ent})
	}
	kinde = append(kinde,
		idsnap.Change{SnapshotID: 3, Type: idsnap.Left, Kind: idsnap.KindUser, ID: "kp_bob", Before: user("kp_bob", "bob@example.com", "Bob")},
		idsnap.Change{SnapshotID: 3, Type: idsnap.Revoked, Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_bob", ent.ID),
			Before:    &idsnap.Record{Kind: idsnap.KindGrant, ID: idsnap.GrantID("kp_bob", ent.ID), PrincipalID: "kp_bob", ResourceID: "org1", EntitlementID: ent.ID},
			Principal: &idsnap.Ref{ID: "kp_bob", Name: "Bob", Email: "bob@example.com"}, Resource: org, Entitlement: ent})
	zitadel := []idsnap.Change{
		{SnapshotID: 5, Type: idsnap.Joined, Kind: idsnap.KindUser, ID: "3001", After: user("3001", "ann@corp.example", "Ann Lee")},
	}
	for i := range kinde {
		kinde[i].Source = "kinde"
	}
	zitadel[0].Source = "zitadel"
	k1, z4 := snap(1, "kinde", day0, 40, 30), snap(4, "zitadel", day0.Add(26*time.Hour), 10, 4)
	r := HTMLReport{
		Since: day0.Add(time.Hour), Until: day0.Add(3 * 24 * time.Hour), Generated: day0.Add(3 * 24 * time.Hour), Version: "test",
		Sources: []HTMLSource{
			{Name: "zitadel", Provider: "zitadel", Snapshots: []idsnap.Snapshot{z4, snap(5, "zitadel", day0.Add(50*time.Hour), 11, 4)}, Changes: zitadel},
			{Name: "kinde", Provider: "kinde", Snapshots: []idsnap.Snapshot{k1, snap(2, "kinde", day0.Add(24*time.Hour), 48, 38), snap(3, "kinde", day0.Add(48*time.Hour), 47, 37)}, Changes: kinde},
		},
		Findings: &HTMLFindings{
			Rules: []HTMLRule{
				{ID: "dormant", Version: 1, Params: "days=90", Population: 47, Fail: 1, Pass: 46},
				{ID: "suspended-with-grants", Version: 1, Population: 2, Fail: 1, Pass: 1},
			},
			Findings: []HTMLFinding{
				{Rule: "dormant", Outcome: "FAIL", Source: "kinde", Principal: "kp_0", Email: hostilenames.People[0].Email, Name: hostilenames.People[7].First, Detail: "last sign-in 120 days ago"},
				{Rule: "suspended-with-grants", Outcome: "FAIL", Source: "kinde", Principal: "kp_1", Email: "m@example.com", Name: hostilenames.People[1].First, Detail: "holds 1 grant"},
			},
		},
	}
	return r, len(kinde) + len(zitadel)
}

func renderHTMLFixture(t testing.TB) (string, HTMLReport, int) {
	r, n := htmlFixture(t)
	var buf bytes.Buffer
	if err := RenderHTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String(), r, n
}

// TestRenderHTMLEscapes: the hostile profiles are text, never markup: the
// only elements are the template's own.
func TestRenderHTMLEscapes(t *testing.T) {
	out, _, n := renderHTMLFixture(t)
	if got := strings.Count(out, "<script"); got != 3 {
		t.Errorf("%d <script elements, want the template's 3", got)
	}
	for _, bad := range []string{"<img", "<b>", "\x1b", "\u202e", "\x00", "http://", "https://"} {
		if bad == "https://" || bad == "http://" {
			// Only the chart library's own header comment and the hostile
			// HYPERLINK (as text) may name a URL; nothing loads one.
			continue
		}
		if strings.Contains(out, bad) {
			t.Errorf("the report carries %q raw", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;", "Acme &lt;b&gt;bold&lt;/b&gt;", `Mallory\u202egnp.exe`} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if got := strings.Count(out, `<tr class="change-`); got != n {
		t.Errorf("%d change rows, want %d", got, n)
	}
	for _, external := range []string{`src="http`, `href="http`, "@import", "url(http"} {
		if strings.Contains(out, external) {
			t.Errorf("the report loads something from the network: %q", external)
		}
	}
}

// chromium finds the distribution's Chromium, or skips.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (apt-get install chromium): the headless-browser test cannot run")
	return ""
}

// TestRenderHTMLInBrowser loads the report in headless Chromium: no
// console error or exception, both charts of each source drew pixels,
// the changes table has every row, filtering and sorting work, no
// hostile markup became an element, and a screenshot is written.
func TestRenderHTMLInBrowser(t *testing.T) {
	exe := chromium(t)
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	out, r, n := renderHTMLFixture(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		// No network at all: a report that tries to fetch anything fails.
		chromedp.ProxyServer("http://127.0.0.1:9"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()

	var mu sync.Mutex
	var problems []string
	// Listen starts the browser; its context must have no deadline.
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			switch ev.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, "exception: "+msg)
		}
	})
	if err != nil {
		t.Skipf("chromium does not start here: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	defer tcancel()
	eval := func(js string) any {
		t.Helper()
		v, err := chromedp.Run(tctx, chromedp.Evaluate[any](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.CSS("#snapshots-table"))); err != nil {
		t.Fatalf("chromium: load the report: %v", err)
	}
	drawn := eval(`document.documentElement.dataset.chartsDrawn || ""`)
	// A canvas that drew has pixels that are not transparent.
	painted := eval(`Array.from(document.querySelectorAll(".chart canvas")).filter(c => {
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; }
		return false;
	}).length`)
	rows := eval(`document.querySelectorAll("#changes-table tbody tr").length`)
	// The template has no img or b element and three scripts: any more came
	// from a hostile name.
	injected := eval(`document.querySelectorAll("img, b").length + document.scripts.length - 3`)
	hostileText := eval(`document.body.textContent.includes('<script>alert("xss")</script>')`)
	findingRows := eval(`document.querySelectorAll("#findings-table tbody tr").length`)
	screenshot, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("chromium: screenshot: %v", err)
	}
	shot := filepath.Join(os.TempDir(), "idsnap-report-screenshot.png")
	if err := os.WriteFile(shot, screenshot, 0o644); err == nil {
		t.Logf("screenshot of the report: %s (%d bytes)", shot, len(screenshot))
	}
	charts := float64(2 * len(r.Sources))
	if drawn != fmt.Sprint(charts) || painted != charts {
		t.Errorf("charts: %v drawn, %v painted, want %v", drawn, painted, charts)
	}
	if rows != float64(n) {
		t.Errorf("changes table has %v rows, want %d", rows, n)
	}
	if want := float64(len(r.Findings.Findings)); findingRows != want {
		t.Errorf("findings table has %v rows, want %v", findingRows, want)
	}
	if injected != float64(0) {
		t.Errorf("%v elements made from hostile markup", injected)
	}
	if hostileText != true {
		t.Error("the hostile <script> name is not shown as text")
	}

	// Filtering and sorting, as a reader would.
	if err := chromedp.Do(tctx, chromedp.SendKeys(chromedp.CSS("#filter"), "revoked bob")); err != nil {
		t.Fatal(err)
	}
	shown := eval(`Array.from(document.querySelectorAll("#changes-table tbody tr")).filter(r => !r.hidden).length`)
	label := eval(`document.getElementById("shown").textContent`)
	if shown != float64(1) || label != fmt.Sprintf("1 of %d", n) {
		t.Errorf("filter \"revoked bob\": %v rows shown, label %q; want 1", shown, label)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS(`#changes-table th:nth-child(3)`)),
		chromedp.Click(chromedp.CSS(`#changes-table th:nth-child(3)`))) // descending: zitadel first
	if err != nil {
		t.Fatal(err)
	}
	if first := eval(`document.querySelector("#changes-table tbody tr td:nth-child(3)").textContent`); first != "zitadel" {
		t.Errorf("sorted by source descending, the first row is %q, want zitadel", first)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}
