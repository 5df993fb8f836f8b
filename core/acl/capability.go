package acl

import "strings"

// Capability is a set of policy capabilities, as bit flags. The bit values
// are vaultd's own and are not persisted: policies are stored as their HCL
// text, so the encoding can change between releases.
type Capability uint32

// The capabilities of Vault's ACL language. Deny overrides every other bit:
// a rule whose set contains Deny grants nothing, not even Sudo.
const (
	Deny Capability = 1 << iota
	Create
	Read
	Update
	Delete
	List
	Sudo
	Patch
)

// RootCapability is the single name Capabilities reports for the root ACL,
// as Vault's sys/capabilities does.
const RootCapability = "root"

// knownCaps is every bit a valid set may hold.
const knownCaps = Deny | Create | Read | Update | Delete | List | Sudo | Patch

// capNames lists the capabilities in name order, which is the order
// sys/capabilities reports them in.
var capNames = [...]struct {
	c    Capability
	name string
}{
	{Create, "create"},
	{Delete, "delete"},
	{Deny, "deny"},
	{List, "list"},
	{Patch, "patch"},
	{Read, "read"},
	{Sudo, "sudo"},
	{Update, "update"},
}

// ParseCapability returns the capability named s ("read", "sudo", ...).
// Names are case-sensitive, as in Vault.
func ParseCapability(s string) (Capability, bool) {
	for _, cn := range capNames {
		if cn.name == s {
			return cn.c, true
		}
	}
	return 0, false
}

// Has reports whether c holds every capability in want.
func (c Capability) Has(want Capability) bool { return c&want == want }

// Names returns the names in c, sorted. A set holding Deny is reported as
// just ["deny"]; the empty set gives an empty slice.
func (c Capability) Names() []string {
	if c&Deny != 0 {
		return []string{"deny"}
	}
	out := make([]string, 0, 8)
	for _, cn := range capNames {
		if c&cn.c != 0 {
			out = append(out, cn.name)
		}
	}
	return out
}

// String joins the names with "|", or returns "none" for the empty set.
func (c Capability) String() string {
	if c == 0 {
		return "none"
	}
	return strings.Join(c.Names(), "|")
}

// normalize collapses a set holding Deny to Deny alone and drops unknown
// bits, so that every stored rule obeys "deny wins".
func (c Capability) normalize() Capability {
	if c&Deny != 0 {
		return Deny
	}
	return c & knownCaps
}
