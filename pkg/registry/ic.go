package registry

import (
	"fmt"
	"time"
)

// CanisterState is what the IC certifies about any canister: its module hash and controllers
// and, where the replica certifies them (interface spec 0.66.0), when it was created and when
// its code was last installed.
type CanisterState struct {
	// ModuleHash is the hex SHA-256 of the installed Wasm module, "" for an empty canister.
	ModuleHash string
	// Controllers are principal texts, in the order the IC reports them.
	Controllers []string
	// CreatedAt is the certified canister_creation_timestamp; nil where the path does not
	// exist (a replica before 0.66.0, or a canister created before the IC recorded it).
	CreatedAt *time.Time
	// LastInstalledAt is the certified last_install_timestamp (install, reinstall, upgrade or
	// snapshot load); nil where the path does not exist (as CreatedAt, or an empty canister).
	LastInstalledAt *time.Time
}

// RejectError is a reject from the Internet Computer: the canister, or the replica on its
// behalf, refused a call. It travels as the cause (Err) of an *Error, so errors.As finds it.
type RejectError struct {
	Code      uint64 // IC reject code: 1 SYS_FATAL, 2 SYS_TRANSIENT, 3 DESTINATION_INVALID, 4 CANISTER_REJECT, 5 CANISTER_ERROR
	ErrorCode string // the replica's error code, e.g. IC0536; may be empty
	Message   string
}

// Error implements error.
func (e *RejectError) Error() string {
	if e.ErrorCode == "" {
		return fmt.Sprintf("IC reject %d: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("IC reject %d (%s): %s", e.Code, e.ErrorCode, e.Message)
}
