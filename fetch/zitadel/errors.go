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
// (docs/providers.md, ZITADEL: permissions).
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

// gatewayBody is grpc-gateway's error envelope (docs/providers.md,
// ZITADEL: errors).
type gatewayBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"details"`
}

// parseBody reads the envelope's message with ZITADEL's error id, which
// the message usually carries already as "text (ID)". The gRPC code is
// left out of the text: grpcCode reads it where it matters.
func parseBody(body []byte) (code, message string) {
	var b gatewayBody
	if json.Unmarshal(body, &b) != nil || b.Message == "" {
		return fetch.ParseBody(body)
	}
	msg := b.Message
	for _, d := range b.Details {
		if d.ID != "" && !strings.Contains(msg, d.ID) {
			msg += " (" + d.ID + ")"
		}
	}
	return "", fetch.OneLine(msg, 300)
}

// grpcCode reads the gRPC code from the envelope; 0 when there is none.
func grpcCode(e *fetch.HTTPError) int {
	var b gatewayBody
	json.Unmarshal(e.Body, &b)
	return b.Code
}

// apiError turns an HTTP error into one line saying what to fix.
func apiError(err error) error {
	var he *fetch.HTTPError
	if !errors.As(err, &he) {
		return err
	}
	// Always a message after the status, if only the status' name.
	h := &fetch.Hint{Err: he, What: he.Message}
	if h.What == "" && !strings.Contains(he.Error(), ": ") {
		h.What = http.StatusText(he.Status)
	}
	switch code := grpcCode(he); {
	case he.Status == http.StatusUnauthorized || code == 16:
		h.Fix = "check the PAT, it may be expired or revoked"
	case he.Status == http.StatusForbidden || code == 7:
		if p := permissionFor(he.Path); p.name != "" {
			h.Fix = fmt.Sprintf("the service user lacks %s: give it %s", p.name, p.roles)
		}
	case he.Status == http.StatusNotFound && code == 0:
		h.Fix = "is instance_url the instance's root URL?"
	}
	return h
}

// isLimitExceeded tells a refused page size (QUERY-4M0fs).
func isLimitExceeded(err error) bool {
	var he *fetch.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
		return false
	}
	m := he.Message
	return strings.Contains(m, "QUERY-4M0fs") || strings.Contains(m, "LimitExceeded")
}
