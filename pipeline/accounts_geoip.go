package pipeline

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/relaysleuth/relaysleuth/analysis"
)

// GeoIP finds the country and AS number of an address in a MaxMind-format
// database in MaxMind's layout (GeoLite2/GeoIP2 Country, City or ASN, and
// DB-IP's lite databases, which follow it): the account judge's Locator
// under --geoip. A database of another layout (IPinfo's "country": "DE")
// locates nothing, and the judge compares by /16 alone.
type GeoIP struct {
	r *maxminddb.Reader
}

// geoRecord is what GeoIP reads of a record: a Country or City database
// has "country", an ASN database "autonomous_system_number".
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	ASN uint32 `maxminddb:"autonomous_system_number"`
}

// OpenGeoIP opens the database at path. It stays open (mapped) for the
// life of the program.
func OpenGeoIP(path string) (*GeoIP, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	return &GeoIP{r: r}, nil
}

// Locate implements analysis.Locator. An address the database does not
// know, or a record it cannot decode, is not located.
func (g *GeoIP) Locate(ip netip.Addr) (analysis.Place, bool) {
	if !ip.IsValid() {
		return analysis.Place{}, false
	}
	res := g.r.Lookup(ip.Unmap())
	if !res.Found() {
		return analysis.Place{}, false
	}
	var rec geoRecord
	if err := res.Decode(&rec); err != nil {
		return analysis.Place{}, false
	}
	p := analysis.Place{Country: rec.Country.ISOCode, ASN: rec.ASN}
	return p, p != analysis.Place{}
}

// Close closes the database.
func (g *GeoIP) Close() error { return g.r.Close() }
