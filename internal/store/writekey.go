package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// WriteKeySecretPrefix starts every write key secret, so a leaked secret is
// easy to recognise in logs and by secret scanners.
const WriteKeySecretPrefix = "ns_wk_"

// writeKeyRandomBytes is the entropy of a secret: 256 bits.
const writeKeyRandomBytes = 32

// writeKeyShownPrefixLen is how many characters of a secret a store keeps in
// clear: the fixed "ns_wk_" and 6 random characters (30 bits).
const writeKeyShownPrefixLen = len(WriteKeySecretPrefix) + 6

// maxWriteKeyNameLen limits a write key name, which becomes the Source of
// every event sent with the key.
const maxWriteKeyNameLen = 64

// secretEncoding writes the random bytes as lowercase base32 without
// padding: 52 characters that survive URLs, shells and headers unquoted.
var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewWriteKeySecret returns a new random secret, the part of it that may be
// stored and shown in lists, and the hash to store in place of the secret.
func NewWriteKeySecret() (secret, prefix, hash string, err error) {
	raw := make([]byte, writeKeyRandomBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", "", "", err
	}

	secret = WriteKeySecretPrefix + secretEncoding.EncodeToString(raw)
	return secret, secret[:writeKeyShownPrefixLen], HashWriteKeySecret(secret), nil
}

// HashWriteKeySecret returns the hex SHA-256 of secret, the value stores
// keep and look secrets up by. A plain hash is enough because the secret
// has 256 random bits, so it cannot be guessed from its hash.
func HashWriteKeySecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ValidateWriteKeyName returns an EINVALID error unless name is 1 to 64
// ASCII letters, digits, '.', '_' or '-'.
func ValidateWriteKeyName(name string) error {
	if name == "" {
		return kpi.Errorf(kpi.EINVALID, "write key name is empty (set a name such as \"web\" or \"backend\")")
	}
	if len(name) > maxWriteKeyNameLen {
		return kpi.Errorf(kpi.EINVALID, "write key name %q is longer than %d characters", name, maxWriteKeyNameLen)
	}

	valid := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
	}
	for _, r := range name {
		if !valid(r) {
			return kpi.Errorf(kpi.EINVALID, "write key name %q contains %q (use letters, digits, '.', '_' and '-')", name, r)
		}
	}
	return nil
}
