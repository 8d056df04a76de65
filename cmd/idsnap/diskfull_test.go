package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/idsnap/idsnap/fetch/ory/orytest"
)

// mountTmpfs mounts a tmpfs of size bytes for the test: a real file system
// that fills. Mounting needs root (CI runs as root); elsewhere the test is
// skipped, saying so.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("idsnap-test", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("full-disk tests mount a small tmpfs, which this system refuses (%v): run them as root, as CI does", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes dir/filler until the file system has at most spare bytes
// left; the returned func frees it.
func fill(t *testing.T, dir string, spare int64) func() {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		if int64(st.Bavail)*st.Bsize <= spare {
			break
		}
		if _, err := f.Write(chunk); errors.Is(err, syscall.ENOSPC) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDiskFull fills a real (tmpfs) file system while a pull stages its
// first pages, and again while its last page arrives, just before the
// commit: each pull fails with one line naming the full disk, commits
// nothing, leaves the database sound and the earlier snapshots reading as
// before, and the pull after space is freed commits. An export whose
// folder fills leaves no folder behind for verify to accept.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, 24<<20)
	tn := orytest.Generate(81, 3000)
	h := orytest.NewHandler(tn, orytest.Config{})
	var mu sync.Mutex
	var onPage func(n int)
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/admin/identities") {
			n := int(pages.Add(1))
			mu.Lock()
			if onPage != nil {
				onPage(n) // the pull waits for this page meanwhile
			}
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := filepath.Join(t.TempDir(), "idsnap.toml")
	if err := os.WriteFile(cfg, []byte("[sources.ory]\nprovider = \"ory\"\nbase_url = \""+srv.URL+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(mnt, "idsnap.db")
	idsnapRun := func(args ...string) result {
		return runIDSnap(t, nil, append([]string{"--db", db, "--config", cfg}, args...)...)
	}
	rename := func(round int) {
		for i, id := range tn.IDs() {
			if i%2 == round%2 {
				tn.SetName(id, "Renamed", fmt.Sprint(round))
			}
		}
	}
	for round := range 2 {
		if round > 0 {
			rename(round)
		}
		if r := idsnapRun("pull"); r.code != 0 {
			t.Fatalf("pull %d: %s", round, r.stderr)
		}
	}
	pages.Store(0)
	idsnapRun("pull") // count the pages of one pull
	last := int(pages.Load())
	reading := func() string {
		r := idsnapRun("diff", "1", "2", "--format", "json")
		s := idsnapRun("snapshots", "--format", "json")
		if r.code != 0 || s.code != 0 {
			t.Fatalf("reading: %s%s", r.stderr, s.stderr)
		}
		return r.stdout + s.stdout
	}

	for i, phase := range []struct {
		name string
		page int // fill the disk when this page is asked for
	}{{"while staging", 2}, {"before the commit", last}} {
		before := reading()
		rename(10 + i) // half the identities change: a pull that writes
		var free func()
		pages.Store(0)
		mu.Lock()
		onPage = func(n int) {
			if n == phase.page {
				free = fill(t, mnt, 0)
			}
		}
		mu.Unlock()
		r := idsnapRun("pull")
		mu.Lock()
		onPage = nil
		mu.Unlock()
		if free == nil {
			t.Fatalf("%s: the disk was never filled", phase.name)
		}
		if r.code != 1 || !oneLineErr(r.stderr, "no space left on device") || !strings.Contains(r.stderr, db) {
			t.Errorf("%s: pull on a full disk: exit %d, stderr %q; want 1 and one line naming the disk", phase.name, r.code, r.stderr)
		}
		t.Logf("%s: %s", phase.name, strings.TrimSpace(r.stderr))
		free()
		if got := reading(); got != before {
			t.Errorf("%s: the snapshots or an earlier diff read differently after the failed pull", phase.name)
		}
		if c := idsnapRun("check"); c.code != 0 {
			t.Errorf("%s: check after the failed pull: %s%s", phase.name, c.stdout, c.stderr)
		}
		if r := idsnapRun("pull"); r.code != 0 {
			t.Errorf("%s: pull after space was freed: %s", phase.name, r.stderr)
		}
	}

	// A reader on the full disk is told so, in one line.
	free := fill(t, mnt, 0)
	if r := idsnapRun("snapshots"); r.code != 0 && !oneLineErr(r.stderr, "no space left on device") {
		t.Errorf("snapshots on a full disk: exit %d, stderr %q", r.code, r.stderr)
	}
	free()

	// An export whose folder (on a disk of its own) fills part way through
	// its first file.
	exports := mountTmpfs(t, 1<<20)
	out := filepath.Join(exports, "review")
	free = fill(t, exports, 16<<10)
	r := idsnapRun("export", "access-review", "--at", "latest", "--out", out)
	free()
	t.Logf("export: %s", strings.TrimSpace(r.stderr))
	if r.code != 1 || !oneLineErr(r.stderr, "no space left on device") {
		t.Errorf("export to a full disk: exit %d, stderr %q", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(exports); len(entries) > 0 {
		t.Errorf("the failed export left %s behind", entries[0].Name())
	}
	if v := idsnapRun("verify", out); v.code != 1 {
		t.Errorf("verify accepted the folder of a failed export")
	}
	if r := idsnapRun("export", "access-review", "--at", "latest", "--out", out); r.code != 0 {
		t.Fatalf("export after space was freed: %s", r.stderr)
	}
	if v := idsnapRun("verify", out); v.code != 0 {
		t.Errorf("verify of the export after space was freed: %s", v.stderr)
	}
}
