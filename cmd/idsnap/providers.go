package main

import (
	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/fetch"
	"github.com/idsnap/idsnap/fetch/kinde"
	"github.com/idsnap/idsnap/fetch/ory"
	"github.com/idsnap/idsnap/fetch/zitadel"
)

// providers is the one table of identity providers: a provider plugs in with
// one package under fetch/ and one line here.
var providers = map[string]func(idsnap.Source, *fetch.Client) (fetch.Fetcher, error){
	"kinde":   kinde.New,
	"ory":     ory.New,
	"zitadel": zitadel.New,
}
