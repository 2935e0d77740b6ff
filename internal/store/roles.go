package store

import "slices"

// Roles (docs/api.md, "Roles"): what a user may do is what the user's
// role grants, as scopes. An API token issued for a user acts with the
// scopes both the token and the role grant, so changing a user's role or
// disabling the user changes what their tokens may do at once. A token
// issued for no user (a machine's) has its own scopes only.
var roleScopes = map[string][]string{
	RoleAdmin: {ScopeAll},
	// Analysts account: they upload activity, read everything the
	// inventory is made of and acknowledge alerts; they read ERP
	// connections but do not change them.
	RoleAnalyst: {ScopeInventoryRead, ScopeInventoryWrite, ScopeFactorsRead, ScopeSuppliersRead,
		ScopeDevicesRead, ScopeAlertsRead, ScopeAlertsWrite, ScopeERPRead, ScopePipelinesRead},
	// Data stewards run the data's way in: activity, ERP connections and
	// the mapping, devices, alerts, pipeline runs.
	RoleDataSteward: {ScopeInventoryRead, ScopeInventoryWrite, ScopeFactorsRead, ScopeSuppliersRead,
		ScopeDevicesRead, ScopeDevicesWrite, ScopeAlertsRead, ScopeAlertsWrite, ScopeERPRead, ScopeERPWrite,
		ScopePipelinesRead, ScopePipelinesWrite},
	// Auditors read everything, the audit trail and users included, and
	// change nothing.
	RoleAuditor: {ScopeInventoryRead, ScopeFactorsRead, ScopeSuppliersRead, ScopeDevicesRead, ScopeAlertsRead,
		ScopeERPRead, ScopeAuditRead, ScopeUsersRead, ScopePipelinesRead},
	// Viewers read the inventory and its inputs, not the audit trail,
	// users, ERP connections or pipeline runs.
	RoleViewer: {ScopeInventoryRead, ScopeFactorsRead, ScopeSuppliersRead, ScopeDevicesRead, ScopeAlertsRead},
	// Devices publish over MQTT with their own credentials; through the
	// API a device identity can only read its token.
	RoleDevice: {},
}

// RoleScopes lists the scopes role grants ("*" for admin); none for an
// unknown role.
func RoleScopes(role string) []string { return slices.Clone(roleScopes[role]) }

// RoleAllows reports whether role grants scope.
func RoleAllows(role, scope string) bool {
	sc := roleScopes[role]
	return slices.Contains(sc, ScopeAll) || slices.Contains(sc, scope)
}
