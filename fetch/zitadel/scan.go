package zitadel

import "github.com/idsnap/idsnap/fetch/internal/jsonscan"

// The rows of a page are read with jsonscan rather than json.Unmarshal,
// whose decoding of each row cost more CPU than any other step of a pull.
// Each row type has a read method built of jsonscan's primitives; it takes
// the rows ZITADEL sends (exact keys, strings for strings) and declines
// anything else, which jsonscan.Decode then hands to json.Unmarshal.

// readDetails reads the details of an object.
func readDetails(v []byte, d *details) bool {
	return jsonscan.Object(v, func(k, v []byte) bool {
		switch string(k) {
		case "creationDate":
			return jsonscan.String(v, &d.CreationDate)
		case "resourceOwner":
			return jsonscan.String(v, &d.ResourceOwner)
		}
		return jsonscan.Other(k, "creationDate", "resourceOwner")
	})
}
