package kpi

import (
	"errors"
	"fmt"
)

// Error codes. Every error that reaches a user carries one of these, so the CLI
// can pick an exit code and the HTTP layer a status in one place.
const (
	EINVALID  = "invalid"   // the input is wrong; the message says how
	ENOTFOUND = "not_found" // the named thing does not exist
	ECONFLICT = "conflict"  // the change clashes with existing data
	EINTERNAL = "internal"  // a bug or a failed dependency

	EUNAUTHORIZED = "unauthorized"           // credentials are missing, unknown or revoked
	ETOOLARGE     = "too_large"              // a body, batch or item exceeds a limit
	EUNSUPPORTED  = "unsupported_media_type" // the request's content type or encoding cannot be read
	EFORBIDDEN    = "forbidden"              // the credentials are valid but their role does not allow the action
	ETOOMANY      = "too_many_requests"      // a rate limit was reached; the message gives the time to retry
)

// Error is an application error with a code and a message meant for the user.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err: the message of its
// *Error, or a generic text for internal errors, whose details are logged instead.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
