package rawjson

import "testing"

// Records as the providers send them, in their field order.
const (
	oryIdentity  = `{"id":"4f1e7c2a-9b1d-4c39-8f0e-2a6b5d7c9e01","schema_id":"default","schema_url":"https://auth.example.com/schemas/ZGVmYXVsdA","state":"active","state_changed_at":"2025-03-01T10:00:00.123456Z","traits":{"email":"user1@example.com","name":{"first":"Zoë","last":"Müller"}},"verifiable_addresses":[{"id":"0b6f1c8e-3a4d-4e2b-9c7a-1d2e3f4a5b6c","value":"user1@example.com","verified":true,"via":"email","status":"completed","verified_at":"2025-03-01T10:05:00Z","created_at":"2025-03-01T10:00:00.123456Z","updated_at":"2025-03-02T11:00:00Z"}],"recovery_addresses":[{"id":"7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f","value":"user1@example.com","via":"email","created_at":"2025-03-01T10:00:00.123456Z","updated_at":"2025-03-02T11:00:00Z"}],"metadata_public":null,"metadata_admin":{"department":"R&D","cost_center":42},"created_at":"2025-03-01T10:00:00.123456Z","updated_at":"2025-03-02T11:00:00Z","organization_id":null}`
	kindeUser    = `{"id":"kp_0123456789abcdef0123456789abcdef","provided_id":"ext-1","email":"user1@example.com","phone":null,"username":"user1","last_name":"Müller","first_name":"Zoë","is_suspended":false,"picture":"https://gravatar.com/avatar/0123456789abcdef0123456789abcdef","total_sign_ins":12,"failed_sign_ins":0,"last_signed_in":"2025-03-02T11:00:00Z","created_on":"2025-01-01T00:00:00Z","identities":[{"type":"email","identity":"user1@example.com"}],"billing":{"customer_id":"c_1"}}`
	zitadelGrant = `{"id":"301234567890123456","details":{"sequence":"17","creationDate":"2025-01-01T00:00:00.123Z","changeDate":"2025-03-02T11:00:00Z","resourceOwner":"300000000000000001"},"roleKeys":["admin","viewer"],"state":"USER_GRANT_STATE_ACTIVE","userId":"301234567890000001","userName":"user1@example.com","firstName":"Zoë","lastName":"Müller","email":"user1@example.com","displayName":"Zoë Müller","orgId":"300000000000000001","orgName":"Acme","orgDomain":"acme.example.com","projectId":"300000000000000100","projectName":"App","preferredLoginName":"user1@example.com","userType":"TYPE_HUMAN","grantedOrgId":"300000000000000001","grantedOrgName":"Acme","grantedOrgDomain":"acme.example.com"}`
)

func BenchmarkObject(b *testing.B) {
	for _, c := range []struct {
		name string
		f    *Filter
		src  string
	}{{"ory", &ory, oryIdentity}, {"kinde", &kinde, kindeUser}, {"zitadel", &zitadel, zitadelGrant}} {
		b.Run(c.name, func(b *testing.B) {
			src := []byte(c.src)
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := c.f.Object(make([]byte, 0, len(src)), src); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
