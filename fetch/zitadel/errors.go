package zitadel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/idsnap/idsnap/fetch"
)

// permission is what an endpoint needs and the roles that hold it
// (PROVIDERS.md §3 Endpoints, permissions; Z-SRC cmd/defaults.yaml).
type permission struct {
	name, roles string
}

// orgRoles hold user.read, project.read, project.role.read, user.grant.read
// and org.read together.
const orgRoles = "ORG_OWNER_VIEWER (read-only) or ORG_USER_MANAGER on the org (ZITADEL console: Organization > Managers)"

// permissionFor names the permission behind a path.
func permissionFor(path string) permission {
	switch {
	case strings.HasPrefix(path, "/admin/v1/orgs"):
		return permission{"iam.read", "IAM_OWNER_VIEWER on the instance (Default settings > Managers), or set org_id"}
	case strings.HasPrefix(path, "/management/v1/users/grants"):
		return permission{"user.grant.read", orgRoles}
	case strings.HasPrefix(path, "/management/v1/users"):
		return permission{"user.read", orgRoles}
	case strings.HasSuffix(path, "/roles/_search"):
		return permission{"project.role.read", orgRoles}
	case strings.HasPrefix(path, "/management/v1/projects"):
		return permission{"project.read", orgRoles}
	case strings.HasPrefix(path, "/management/v1/orgs"):
		return permission{"org.read", orgRoles}
	}
	return permission{}
}

// gatewayBody is grpc-gateway's error envelope (PROVIDERS.md §3 Errors).
type gatewayBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"details"`
}

// gatewayMessage is the envelope's message with ZITADEL's error id, which
// the message usually carries already as "text (ID)".
func gatewayMessage(e *fetch.HTTPError) string {
	var b gatewayBody
	if json.Unmarshal(e.Body, &b) != nil || b.Message == "" {
		return e.Message
	}
	msg := strings.Join(strings.Fields(b.Message), " ")
	for _, d := range b.Details {
		if d.ID != "" && !strings.Contains(msg, d.ID) {
			msg += " (" + d.ID + ")"
		}
	}
	return msg
}

// grpcCode reads the gRPC code from the envelope; 0 when there is none.
func grpcCode(e *fetch.HTTPError) int {
	var b gatewayBody
	json.Unmarshal(e.Body, &b)
	return b.Code
}

// Error is a ZITADEL API error with what to do about it.
type Error struct {
	*fetch.HTTPError
	text string
}

func (e *Error) Error() string { return e.text }

// Unwrap returns the HTTP error.
func (e *Error) Unwrap() error { return e.HTTPError }

// apiError turns an HTTP error into one line saying what to fix.
func apiError(err error) error {
	var he *fetch.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	head := fmt.Sprintf("%d from %s %s", he.Status, he.Method, he.Path)
	msg := gatewayMessage(he)
	if msg == "" {
		msg = strings.TrimPrefix(he.Error(), head+": ")
		if msg == he.Error() {
			msg = http.StatusText(he.Status)
		}
	}
	text := head + ": " + msg
	switch code := grpcCode(he); {
	case he.Status == http.StatusUnauthorized || code == 16:
		text += "; check the PAT, it may be expired or revoked"
	case he.Status == http.StatusForbidden || code == 7:
		if p := permissionFor(he.Path); p.name != "" {
			text += fmt.Sprintf("; the service user lacks %s: give it %s", p.name, p.roles)
		}
	case he.Status == http.StatusNotFound && code == 0:
		text += "; is instance_url the instance's root URL?"
	}
	return &Error{HTTPError: he, text: text}
}

// isLimitExceeded tells a refused page size (QUERY-4M0fs).
func isLimitExceeded(err error) bool {
	var he *fetch.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		return false
	}
	m := gatewayMessage(he)
	return strings.Contains(m, "QUERY-4M0fs") || strings.Contains(m, "LimitExceeded")
}
