package evidence

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testKey(t *testing.T) *SecretKey {
	t.Helper()
	k, err := GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyRoundTrip(t *testing.T) {
	k := testKey(t)
	sk, err := k.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParseSecretKey(sk)
	if err != nil {
		t.Fatalf("ParseSecretKey: %v", err)
	}
	if k2.ID != k.ID || !bytes.Equal(k2.Key, k.Key) {
		t.Fatal("secret key changed in a round trip")
	}
	pk, err := k.Public().MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublicKey(pk)
	if err != nil {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	if p.ID != k.ID || !bytes.Equal(p.Key, k.Public().Key) {
		t.Fatal("public key changed in a round trip")
	}
	// The bare base64 line is accepted too (minisign -P).
	if _, err := ParsePublicKey(bytes.Split(pk, []byte("\n"))[1]); err != nil {
		t.Fatalf("ParsePublicKey(bare line): %v", err)
	}
}

func TestParseSecretKeyRejects(t *testing.T) {
	k := testKey(t)
	sk, _ := k.MarshalText()
	line := strings.Split(string(sk), "\n")[1]
	raw, _ := base64.StdEncoding.DecodeString(line)
	mutate := func(f func(b []byte)) []byte {
		b := bytes.Clone(raw)
		f(b)
		return []byte("untrusted comment: x\n" + base64.StdEncoding.EncodeToString(b) + "\n")
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"checksum", mutate(func(b []byte) { b[len(b)-1] ^= 1 }), "checksum"},
		{"secret byte", mutate(func(b []byte) { b[60] ^= 1 }), "checksum"},
		{"encrypted", mutate(func(b []byte) { copy(b[2:4], "Sc") }), "passphrase"},
		{"public key", []byte(strings.Split(string(mustText(t, k.Public())), "\n")[1]), "not a minisign"},
		{"empty", nil, "no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecretKey(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseSecretKey = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func mustText(t *testing.T, m interface{ MarshalText() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerify(t *testing.T) {
	k := testKey(t)
	msg := []byte("{\"format\": \"idsnap-evidence/1\"}\n")
	sig := k.Sign(msg, "manifest.json", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	trusted, err := k.Public().Verify(msg, sig)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if want := "timestamp:1772366400\tfile:manifest.json\thashed"; trusted != want {
		t.Errorf("trusted comment = %q; want %q", trusted, want)
	}
	other := testKey(t)
	lines := strings.Split(string(sig), "\n")
	tests := []struct {
		name string
		key  PublicKey
		msg  []byte
		sig  []byte
		want string
	}{
		{"changed message", k.Public(), append(bytes.Clone(msg), ' '), sig, "does not match"},
		{"other key", other.Public(), msg, sig, "not by the given key"},
		{"trusted comment", k.Public(), msg, []byte(strings.Replace(string(sig), "timestamp:1", "timestamp:2", 1)), "trusted comment"},
		{"truncated", k.Public(), msg, []byte(strings.Join(lines[:2], "\n")), "not a minisign signature file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.key.Verify(tt.msg, tt.sig)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Verify = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestMinisignInterop checks the formats against the real minisign (Debian
// package minisign) when it is installed: it verifies our signature with our
// public key, signs with our secret key, and we verify its signature.
func TestMinisignInterop(t *testing.T) {
	bin, err := exec.LookPath("minisign")
	if err != nil {
		t.Skip("minisign not installed")
	}
	dir := t.TempDir()
	k := testKey(t)
	pub, sec := filepath.Join(dir, "key.pub"), filepath.Join(dir, "key.sec")
	msgPath := filepath.Join(dir, ManifestFile)
	msg := []byte("{\"rows\": 3}\n")
	for name, data := range map[string][]byte{pub: mustText(t, k.Public()), sec: mustText(t, k), msgPath: msg,
		msgPath + ".minisig": k.Sign(msg, ManifestFile, time.Now())} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(bin, "-Vm", msgPath, "-p", pub).CombinedOutput(); err != nil {
		t.Fatalf("minisign -V rejected our signature: %v\n%s", err, out)
	}
	// A changed manifest must fail minisign too.
	if err := os.WriteFile(msgPath, []byte("{\"rows\": 4}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-Vm", msgPath, "-p", pub).CombinedOutput(); err == nil {
		t.Fatalf("minisign -V accepted a changed file:\n%s", out)
	}
	// minisign signs with our secret key; we verify its signature.
	other := filepath.Join(dir, "other.txt")
	if err := os.WriteFile(other, []byte("signed by minisign\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-S", "-s", sec, "-m", other, "-t", "from minisign").CombinedOutput(); err != nil {
		t.Fatalf("minisign -S refused our secret key: %v\n%s", err, out)
	}
	sig, err := os.ReadFile(other + ".minisig")
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := k.Public().Verify([]byte("signed by minisign\n"), sig)
	if err != nil {
		t.Fatalf("Verify(minisign's signature): %v", err)
	}
	if trusted != "from minisign" {
		t.Errorf("trusted comment = %q; want %q", trusted, "from minisign")
	}
}
