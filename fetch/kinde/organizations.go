package kinde

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/sourcegraph/conc/pool"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/internal/jsonscan"
)

// memberKey is the entitlement every organization has: membership.
const memberKey = "member"

type orgsPage struct {
	Organizations []json.RawMessage `json:"organizations"`
	NextToken     *string           `json:"next_token"`
}

// ReadPage is the fast path of fetch.Client for an organizations page;
// see readListing.
func (p *orgsPage) ReadPage(data []byte) bool {
	return readListing(data, "organizations", func(i int) int { return jsonscan.RawsAt(data, i, &p.Organizations) }, &p.NextToken)
}

type organization struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// read is the fast path of jsonscan.Decode for an organization.
func (o *organization) read(b []byte) bool {
	return jsonscan.Members(b, func(k, v []byte) bool {
		switch string(k) {
		case "code":
			return jsonscan.String(v, &o.Code)
		case "name":
			return jsonscan.String(v, &o.Name)
		}
		return jsonscan.Other(k, "code", "name")
	})
}

func decodeOrganization(raw []byte) (organization, error) {
	return jsonscan.Decode(raw, (*organization).read)
}

// listOrganizations pages GET /api/v1/organizations (getOrganizations,
// scope read:organizations), emitting each organization and its member
// entitlement, and lists each one's members in a bounded pool while the
// next page loads.
// https://docs.kinde.com/kinde-apis/management/#tag/organizations/get/api/v1/organizations
func (f *Fetcher) listOrganizations(ctx context.Context, emit fetch.Emit) error {
	const path = "/api/v1/organizations"
	// A failed member listing stops the paging of organizations too.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	members := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError().WithMaxGoroutines(f.conc)
	err := f.pageOrganizations(ctx, cancel, path, emit, members)
	if err != nil {
		cancel()
	}
	werr := members.Wait()
	if werr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return werr // a member listing failed first and stopped the paging
	}
	return err
}

func (f *Fetcher) pageOrganizations(ctx context.Context, cancel func(), path string, emit fetch.Emit, members *pool.ContextPool) error {
	q := url.Values{"page_size": {strconv.Itoa(pageSize)}}
	return paginate(ctx, f, path, q, "read:organizations", "list organizations",
		func(p *orgsPage) *string { return p.NextToken },
		func(ctx context.Context, p *orgsPage) error {
			for _, raw := range p.Organizations {
				o, err := decodeOrganization(raw)
				if err != nil {
					return fmt.Errorf("list organizations: decode organization: %w", err)
				}
				if o.Code == "" {
					return fmt.Errorf("list organizations: an organization without a code")
				}
				if err := emit(ctx, idsnap.Record{Kind: idsnap.KindResource, ID: o.Code, Name: o.Name, Raw: raw}); err != nil {
					return err
				}
				ent := idsnap.Record{Kind: idsnap.KindEntitlement, ID: idsnap.EntitlementID(o.Code, memberKey), ResourceID: o.Code, Name: memberKey}
				if err := emit(ctx, ent); err != nil {
					return err
				}
				members.Go(func(ctx context.Context) error {
					err := f.listMembers(ctx, o.Code, emit)
					if err != nil {
						cancel()
					}
					return err
				})
			}
			return ctx.Err()
		})
}
