package auth

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Password length limits. bcrypt reads at most 72 bytes of a password, so
// longer ones are rejected rather than silently cut.
const (
	MinPasswordLen   = 12 // characters
	MaxPasswordBytes = 72
)

// MaxEmailLen is the longest e-mail address an account may have (RFC 5321
// limits a path to 256 octets including the angle brackets).
const MaxEmailLen = 254

// bcryptCost is the work factor of stored password hashes. Cost 10 took
// 58 ms per hash (go test -bench, 2-core Xeon shared with other work).
const bcryptCost = bcrypt.DefaultCost

// HashPassword returns the bcrypt hash of password after checking its
// length. It returns EINVALID for a password that is too short or too long.
func HashPassword(password string) (string, error) {
	if err := ValidatePassword(password); err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(hash), nil
}

// ValidatePassword returns an EINVALID error unless password has at least
// MinPasswordLen characters and at most MaxPasswordBytes bytes.
func ValidatePassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLen {
		return kpi.Errorf(kpi.EINVALID, "the password has %d characters; use at least %d", n, MinPasswordLen)
	}
	if len(password) > MaxPasswordBytes {
		return kpi.Errorf(kpi.EINVALID, "the password is %d bytes long; use at most %d (bcrypt ignores the rest)", len(password), MaxPasswordBytes)
	}
	return nil
}

// checkPassword reports whether password matches the bcrypt hash.
func checkPassword(hash, password string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
	if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check password: %w", err)
	}
	return true, nil
}

// dummyHash is compared against when an e-mail address is unknown, so that
// a sign-in with an unknown address takes as long as one with a wrong
// password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("northstar-unknown-account"), bcryptCost)

// NormalizeEmail returns email trimmed and lowercased, or an EINVALID error
// when it is not a plain address such as ada@example.com.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return "", kpi.Errorf(kpi.EINVALID, "the e-mail address is empty")
	}
	if len(email) > MaxEmailLen {
		return "", kpi.Errorf(kpi.EINVALID, "the e-mail address is %d characters long; the maximum is %d", len(email), MaxEmailLen)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", kpi.Errorf(kpi.EINVALID, "%q is not an e-mail address (want a plain address such as ada@example.com)", email)
	}
	return email, nil
}
