package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"
)

// Evidence is signed in minisign's formats (https://jedisct1.github.io/minisign/)
// so an auditor checks it with a tool they already trust:
//
//	minisign -Vm manifest.json -p idsnap.pub
//
// Public key: "untrusted comment: ..." line, then base64("Ed" || key id[8] || Ed25519 public key[32]).
// Signature (manifest.json.minisig): "untrusted comment: ..." line,
// base64("ED" || key id || Ed25519(BLAKE2b-512(file))), "trusted comment: ..." line,
// base64(Ed25519(signature || trusted comment)): the global signature that
// makes the trusted comment tamper-proof.
// Secret key: minisign's layout, unencrypted (KDF algorithm "\x00\x00", as
// `minisign -G -W` writes it): base64("Ed" || kdf "\0\0" || "B2" || salt[32] ||
// opslimit[8] || memlimit[8] || key id[8] || Ed25519 secret key[64] ||
// BLAKE2b-256("Ed" || key id || secret key)[32]). The file is protected by its
// 0600 mode, not a passphrase: keep it off shared disks.

const (
	algEd         = "Ed" // legacy: signs the message itself
	algEdPrehash  = "ED" // signs BLAKE2b-512 of the message (minisign's default)
	kDFNone       = "\x00\x00"
	kDFScrypt     = "Sc"
	chkBlake2b    = "B2"
	untrustedPfx  = "untrusted comment: "
	trustedPfx    = "trusted comment: "
	publicKeyLen  = 2 + 8 + ed25519.PublicKeySize
	secretKeyLen  = 2 + 2 + 2 + 32 + 8 + 8 + 8 + ed25519.PrivateKeySize + 32
	signatureLen  = 2 + 8 + ed25519.SignatureSize
	maxKeyFileLen = 4096
)

// KeyID is a minisign key id: 8 random bytes naming a key pair.
type KeyID [8]byte

// String prints the id as minisign does: the bytes as a little-endian
// number in upper-case hex.
func (id KeyID) String() string {
	return fmt.Sprintf("%016X", binary.LittleEndian.Uint64(id[:]))
}

// PublicKey verifies evidence signatures.
type PublicKey struct {
	ID  KeyID
	Key ed25519.PublicKey
}

// SecretKey signs evidence manifests.
type SecretKey struct {
	ID  KeyID
	Key ed25519.PrivateKey
}

// GenerateKey makes a new Ed25519 key pair with a random key id, reading
// randomness from r (crypto/rand.Reader outside tests).
func GenerateKey(r io.Reader) (*SecretKey, error) {
	var id KeyID
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return nil, fmt.Errorf("generate key id: %w", err)
	}
	_, sk, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &SecretKey{ID: id, Key: sk}, nil
}

// Public returns the public half of k.
func (k *SecretKey) Public() PublicKey {
	return PublicKey{ID: k.ID, Key: k.Key.Public().(ed25519.PublicKey)}
}

// MarshalText encodes the public key as a minisign public key file.
func (k PublicKey) MarshalText() ([]byte, error) {
	if len(k.Key) != ed25519.PublicKeySize {
		return nil, errors.New("public key is not an Ed25519 key")
	}
	b := make([]byte, 0, publicKeyLen)
	b = append(b, algEd...)
	b = append(b, k.ID[:]...)
	b = append(b, k.Key...)
	return fmt.Appendf(nil, "%sminisign public key %s\n%s\n", untrustedPfx, k.ID, base64.StdEncoding.EncodeToString(b)), nil
}

// ParsePublicKey reads a minisign public key: the file's content, or the
// bare base64 line (as minisign -P takes it).
func ParsePublicKey(data []byte) (PublicKey, error) {
	line, err := keyLine(data)
	if err != nil {
		return PublicKey{}, fmt.Errorf("read public key: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(b) != publicKeyLen || string(b[:2]) != algEd {
		return PublicKey{}, errors.New("read public key: not a minisign Ed25519 public key")
	}
	var k PublicKey
	copy(k.ID[:], b[2:10])
	k.Key = ed25519.PublicKey(bytes.Clone(b[10:]))
	return k, nil
}

// MarshalText encodes the secret key in minisign's unencrypted layout.
func (k *SecretKey) MarshalText() ([]byte, error) {
	if len(k.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("secret key is not an Ed25519 key")
	}
	b := make([]byte, 0, secretKeyLen)
	b = append(b, algEd...)
	b = append(b, kDFNone...)
	b = append(b, chkBlake2b...)
	b = append(b, make([]byte, 32+8+8)...) // salt, opslimit, memlimit: unused without a KDF
	b = append(b, k.ID[:]...)
	b = append(b, k.Key...)
	chk := secretChecksum(k.ID, k.Key)
	b = append(b, chk[:]...)
	return fmt.Appendf(nil, "%sidsnap secret key %s (unencrypted minisign format; keep this file private)\n%s\n",
		untrustedPfx, k.ID, base64.StdEncoding.EncodeToString(b)), nil
}

// ParseSecretKey reads a secret key written by MarshalText or by
// `minisign -G -W`. Passphrase-protected minisign keys are refused.
func ParseSecretKey(data []byte) (*SecretKey, error) {
	line, err := keyLine(data)
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil || len(b) != secretKeyLen || string(b[:2]) != algEd {
		return nil, errors.New("read secret key: not a minisign Ed25519 secret key")
	}
	switch string(b[2:4]) {
	case kDFNone:
	case kDFScrypt:
		return nil, errors.New("read secret key: the key is passphrase-protected; create one with idsnap keygen or minisign -G -W")
	default:
		return nil, errors.New("read secret key: unknown key derivation algorithm")
	}
	const off = 2 + 2 + 2 + 32 + 8 + 8
	k := &SecretKey{Key: ed25519.PrivateKey(bytes.Clone(b[off+8 : off+8+ed25519.PrivateKeySize]))}
	copy(k.ID[:], b[off:off+8])
	chk := b[off+8+ed25519.PrivateKeySize:]
	want := secretChecksum(k.ID, k.Key)
	// minisign -W leaves the checksum zero; anything else must match.
	if !bytes.Equal(chk, make([]byte, 32)) && subtle.ConstantTimeCompare(chk, want[:]) != 1 {
		return nil, errors.New("read secret key: checksum mismatch: the key file is damaged")
	}
	// The public half is stored inside the secret key; check it belongs.
	if !bytes.Equal(ed25519.NewKeyFromSeed(k.Key.Seed()), k.Key) {
		return nil, errors.New("read secret key: the key file is damaged")
	}
	return k, nil
}

func secretChecksum(id KeyID, sk ed25519.PrivateKey) [32]byte {
	h, _ := blake2b.New256(nil) // unkeyed: never fails
	h.Write([]byte(algEd))
	h.Write(id[:])
	h.Write(sk)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// keyLine returns the base64 line of a key file, skipping a leading
// untrusted comment.
func keyLine(data []byte) (string, error) {
	if len(data) > maxKeyFileLen {
		return "", errors.New("key file too large")
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], untrustedPfx) {
		lines = lines[1:]
	}
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return "", errors.New("no key in file")
	}
	return strings.TrimSpace(lines[0]), nil
}

// Sign returns a minisign signature file (prehashed, minisign's default)
// for message, with a trusted comment naming fileName and the time.
func (k *SecretKey) Sign(message []byte, fileName string, now time.Time) []byte {
	h := blake2b.Sum512(message)
	sig := ed25519.Sign(k.Key, h[:])
	b := make([]byte, 0, signatureLen)
	b = append(b, algEdPrehash...)
	b = append(b, k.ID[:]...)
	b = append(b, sig...)
	// The trusted comment is minisign's own shape; names with a newline or tab
	// would break it, so they are left out.
	trusted := "timestamp:" + strconv.FormatInt(now.Unix(), 10)
	if fileName != "" && !strings.ContainsAny(fileName, "\r\n\t") {
		trusted += "\tfile:" + fileName
	}
	trusted += "\thashed"
	global := ed25519.Sign(k.Key, append(bytes.Clone(sig), trusted...))
	return fmt.Appendf(nil, "%ssignature from idsnap secret key %s\n%s\n%s%s\n%s\n",
		untrustedPfx, k.ID, base64.StdEncoding.EncodeToString(b),
		trustedPfx, trusted, base64.StdEncoding.EncodeToString(global))
}

// Verify checks a minisign signature file over message (prehashed or
// legacy) and returns its trusted comment.
func (k PublicKey) Verify(message, sigFile []byte) (trusted string, err error) {
	if len(sigFile) > maxKeyFileLen {
		return "", errors.New("signature file too large")
	}
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(sigFile), "\r\n", "\n"), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], untrustedPfx) || !strings.HasPrefix(lines[2], trustedPfx) {
		return "", errors.New("not a minisign signature file")
	}
	b, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil || len(b) != signatureLen {
		return "", errors.New("not a minisign signature")
	}
	alg, sig := string(b[:2]), b[10:]
	var id KeyID
	copy(id[:], b[2:10])
	if id != k.ID {
		return "", fmt.Errorf("signed by key %s, not by the given key %s", id, k.ID)
	}
	signed := message
	switch alg {
	case algEdPrehash:
		h := blake2b.Sum512(message)
		signed = h[:]
	case algEd:
	default:
		return "", errors.New("unknown signature algorithm")
	}
	if !ed25519.Verify(k.Key, signed, sig) {
		return "", errors.New("signature does not match the file")
	}
	trusted = strings.TrimPrefix(lines[2], trustedPfx)
	global, err := base64.StdEncoding.DecodeString(lines[3])
	if err != nil || len(global) != ed25519.SignatureSize {
		return "", errors.New("malformed global signature")
	}
	if !ed25519.Verify(k.Key, append(bytes.Clone(sig), trusted...), global) {
		return "", errors.New("trusted comment was altered")
	}
	return trusted, nil
}
