package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Prefixes of the secrets this package issues, so that a leaked secret is
// easy to recognise in logs and by secret scanners.
const (
	APITokenPrefix = "ns_at_"
	sessionPrefix  = "ns_se_"
)

// secretRandomBytes is the entropy of a secret: 256 bits.
const secretRandomBytes = 32

// shownRandomChars is how many random characters of an API token are kept
// in clear, to recognise the token in lists.
const shownRandomChars = 6

var secretEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newSecret returns a new random secret that starts with prefix.
func newSecret(prefix string) (string, error) {
	raw := make([]byte, secretRandomBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return prefix + secretEncoding.EncodeToString(raw), nil
}

// hashSecret returns the hex SHA-256 of secret. A plain hash suffices
// because the secret has 256 random bits, so it cannot be guessed from its
// hash.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// IsAPIToken reports whether secret has the form of an API token.
func IsAPIToken(secret string) bool { return strings.HasPrefix(secret, APITokenPrefix) }
