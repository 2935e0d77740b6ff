package store

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// collections holds one Collection per tenant Record kind, built once.
type collections struct {
	users               *Collection[User, *User]
	apiTokens           *Collection[APIToken, *APIToken]
	sites               *Collection[Site, *Site]
	emissionSources     *Collection[EmissionSource, *EmissionSource]
	activityRecords     *Collection[ActivityRecord, *ActivityRecord]
	calculationRuns     *Collection[CalculationRun, *CalculationRun]
	calculatedEmissions *Collection[CalculatedEmission, *CalculatedEmission]
	suppliers           *Collection[Supplier, *Supplier]
	products            *Collection[Product, *Product]
	purchaseOrders      *Collection[PurchaseOrder, *PurchaseOrder]
	purchaseOrderLines  *Collection[PurchaseOrderLine, *PurchaseOrderLine]
	dataPoints          *Collection[DataPoint, *DataPoint]
	erpConnections      *Collection[ERPConnection, *ERPConnection]
	syncJobs            *Collection[SyncJob, *SyncJob]
	devices             *Collection[Device, *Device]
	alerts              *Collection[Alert, *Alert]
	kpiDefinitions      *Collection[KPIDefinition, *KPIDefinition]
	kpiValues           *Collection[KPIValue, *KPIValue]
}

func (s *Store) initCollections() {
	c := &s.c
	c.users = newCollection[User](s, "core.users", "user")
	c.users.validate = func(u *User) error {
		u.Email = strings.ToLower(strings.TrimSpace(u.Email))
		if _, err := mail.ParseAddress(u.Email); err != nil {
			return fmt.Errorf("email %q is not an address", u.Email)
		}
		if !slices.Contains(roles, u.Role) {
			return fmt.Errorf("role %q is not one of %v", u.Role, roles)
		}
		return nil
	}
	c.apiTokens = newCollection[APIToken](s, "core.api_tokens", "api_token")
	c.apiTokens.validate = func(t *APIToken) error {
		if len(t.TokenHash) != 32 {
			return errors.New("token_hash must be a SHA-256 digest")
		}
		return required("name", t.Name)
	}
	c.sites = newCollection[Site](s, "core.sites", "site")
	c.sites.validate = func(v *Site) error { return required("name", v.Name) }
	c.emissionSources = newCollection[EmissionSource](s, "emissions.emission_sources", "emission_source")
	c.emissionSources.validate = func(v *EmissionSource) error {
		if err := checkScope(v.Scope, v.Category); err != nil {
			return err
		}
		return required("name", v.Name)
	}
	c.activityRecords = newCollection[ActivityRecord](s, "emissions.activity_records", "activity_record")
	c.activityRecords.validate = func(a *ActivityRecord) error {
		switch {
		case oneOf("origin", &a.Origin, "manual", "erp", "iot", "file", "calculation") != nil:
			return oneOf("origin", &a.Origin, "manual", "erp", "iot", "file", "calculation")
		case a.SourceID == uuid.Nil:
			return errors.New("source_id is required")
		case a.Unit == "":
			return errors.New("unit is required")
		case a.ActivityType == "":
			return errors.New("activity_type is required")
		case a.PeriodStart.IsZero() || a.PeriodEnd.Before(a.PeriodStart):
			return errors.New("period_start is required and period_end may not precede it")
		case a.DataQuality == 0:
			a.DataQuality = 3
		case a.DataQuality < 1 || a.DataQuality > 5:
			return fmt.Errorf("data_quality %d is not in 1-5", a.DataQuality)
		}
		return nil
	}
	c.calculationRuns = newCollection[CalculationRun](s, "emissions.calculation_runs", "calculation_run")
	c.calculationRuns.validate = func(r *CalculationRun) error {
		return oneOf("status", &r.Status, "running", "succeeded", "failed")
	}
	c.calculatedEmissions = newCollection[CalculatedEmission](s, "emissions.calculated_emissions", "calculated_emission")
	c.calculatedEmissions.validate = func(e *CalculatedEmission) error {
		if err := oneOf("scope2_basis", &e.Scope2Basis, "", "location", "market"); err != nil {
			return err
		}
		if e.PeriodStart.IsZero() {
			return errors.New("period_start is required")
		}
		return checkScope(e.Scope, e.Category)
	}
	c.suppliers = newCollection[Supplier](s, "supply_chain.suppliers", "supplier")
	c.suppliers.validate = func(v *Supplier) error { return required("name", v.Name) }
	c.products = newCollection[Product](s, "supply_chain.products", "product")
	c.purchaseOrders = newCollection[PurchaseOrder](s, "supply_chain.purchase_orders", "purchase_order")
	c.purchaseOrders.validate = func(p *PurchaseOrder) error {
		if p.OrderDate.IsZero() {
			return errors.New("order_date is required")
		}
		return required("po_number", p.PONumber)
	}
	c.purchaseOrderLines = newCollection[PurchaseOrderLine](s, "supply_chain.purchase_order_lines", "purchase_order_line")
	c.dataPoints = newCollection[DataPoint](s, "csrd.data_points", "data_point")
	c.dataPoints.validate = func(d *DataPoint) error {
		if err := required("standard_code", d.StandardCode); err != nil {
			return err
		}
		return oneOf("status", &d.Status, "draft", "in_review", "approved", "published")
	}
	c.erpConnections = newCollection[ERPConnection](s, "integration.erp_connections", "erp_connection")
	c.erpConnections.validate = func(v *ERPConnection) error {
		if !slices.Contains(erpSystems, v.System) {
			return fmt.Errorf("system %q is not one of %v", v.System, erpSystems)
		}
		return required("name", v.Name)
	}
	c.erpConnections.beforeWrite = s.sealCredentials
	c.erpConnections.afterRead = s.openCredentials
	c.syncJobs = newCollection[SyncJob](s, "integration.sync_jobs", "sync_job")
	c.syncJobs.validate = func(j *SyncJob) error {
		if err := oneOf("mode", &j.Mode, "incremental", "full"); err != nil {
			return err
		}
		return oneOf("status", &j.Status, "queued", "running", "succeeded", "failed")
	}
	c.devices = newCollection[Device](s, "iot.devices", "device")
	c.devices.validate = func(d *Device) error {
		if err := oneOf("status", &d.Status, "registered", "active", "inactive", "decommissioned"); err != nil {
			return err
		}
		if !slices.Contains(deviceTypes, d.DeviceType) {
			return fmt.Errorf("device_type %q is not one of %v", d.DeviceType, deviceTypes)
		}
		return required("serial", d.Serial)
	}
	c.alerts = newCollection[Alert](s, "iot.alerts", "alert")
	c.alerts.validate = func(a *Alert) error {
		if a.RaisedAt.IsZero() {
			a.RaisedAt = s.nowUTC()
		}
		if err := oneOf("severity", &a.Severity, "warning", "info", "critical"); err != nil {
			return err
		}
		return oneOf("status", &a.Status, "open", "acknowledged", "resolved")
	}
	c.kpiDefinitions = newCollection[KPIDefinition](s, "analytics.kpi_definitions", "kpi_definition")
	c.kpiDefinitions.validate = func(k *KPIDefinition) error {
		if err := oneOf("direction", &k.Direction, "lower_better", "higher_better"); err != nil {
			return err
		}
		return required("code", k.Code)
	}
	c.kpiValues = newCollection[KPIValue](s, "analytics.kpi_values", "kpi_value")
}

var roles = []string{RoleAdmin, RoleAnalyst, RoleAuditor, RoleDataSteward, RoleViewer, RoleDevice}

var erpSystems = []string{"sap", "oracle", "workday", "dynamics365", "netsuite", "spreadsheet"}

var deviceTypes = []string{"air_quality", "energy_meter", "water_flow", "emissions_sensor", "temp_humidity", "vehicle_tracker", "solar_panel", "waste_bin"}

// oneOf checks that *v is one of allowed; an empty value becomes the first
// allowed value, the column's default.
func oneOf(name string, v *string, allowed ...string) error {
	if *v == "" {
		*v = allowed[0]
	}
	if !slices.Contains(allowed, *v) {
		return fmt.Errorf("%s %q is not one of %v", name, *v, allowed)
	}
	return nil
}

// Roles lists every user role.
func Roles() []string { return slices.Clone(roles) }

// ERPSystems lists the ERP systems a connection may point at.
func ERPSystems() []string { return slices.Clone(erpSystems) }

// DeviceTypes lists the IoT device types.
func DeviceTypes() []string { return slices.Clone(deviceTypes) }

func required(name, v string) error {
	if v == "" {
		return fmt.Errorf("%s is required", name)
	}
	return nil
}

func checkScope(scope int, category *int) error {
	if scope < 1 || scope > 3 {
		return fmt.Errorf("scope %d is not 1, 2 or 3", scope)
	}
	if category != nil && (scope != 3 || *category < 1 || *category > 15) {
		return fmt.Errorf("category must be a scope 3 category 1-15 and only set for scope 3")
	}
	return nil
}

func (a *ActivityRecord) setBatch(id uuid.UUID) {
	if a.BatchID == nil {
		a.BatchID = &id
	}
}

// Users are the people and device identities of an organization.
func (s *Store) Users() *Collection[User, *User] { return s.c.users }

// APITokens are machine credentials.
func (s *Store) APITokens() *Collection[APIToken, *APIToken] { return s.c.apiTokens }

// Sites are facilities and locations.
func (s *Store) Sites() *Collection[Site, *Site] { return s.c.sites }

// EmissionSources are the things that emit.
func (s *Store) EmissionSources() *Collection[EmissionSource, *EmissionSource] {
	return s.c.emissionSources
}

// ActivityRecords are activity data (emissions.activity_records).
func (s *Store) ActivityRecords() *Collection[ActivityRecord, *ActivityRecord] {
	return s.c.activityRecords
}

// CalculationRuns are runs of the GHG engine.
func (s *Store) CalculationRuns() *Collection[CalculationRun, *CalculationRun] {
	return s.c.calculationRuns
}

// CalculatedEmissions are calculation results with lineage.
func (s *Store) CalculatedEmissions() *Collection[CalculatedEmission, *CalculatedEmission] {
	return s.c.calculatedEmissions
}

// Suppliers are vendors.
func (s *Store) Suppliers() *Collection[Supplier, *Supplier] { return s.c.suppliers }

// Products are goods bought or sold.
func (s *Store) Products() *Collection[Product, *Product] { return s.c.products }

// PurchaseOrders are orders to suppliers.
func (s *Store) PurchaseOrders() *Collection[PurchaseOrder, *PurchaseOrder] {
	return s.c.purchaseOrders
}

// PurchaseOrderLines are the lines of purchase orders.
func (s *Store) PurchaseOrderLines() *Collection[PurchaseOrderLine, *PurchaseOrderLine] {
	return s.c.purchaseOrderLines
}

// DataPoints are ESRS disclosure values.
func (s *Store) DataPoints() *Collection[DataPoint, *DataPoint] { return s.c.dataPoints }

// ERPConnections are links to ERP systems, with sealed credentials.
func (s *Store) ERPConnections() *Collection[ERPConnection, *ERPConnection] {
	return s.c.erpConnections
}

// SyncJobs are connector runs.
func (s *Store) SyncJobs() *Collection[SyncJob, *SyncJob] { return s.c.syncJobs }

// Devices are registered IoT devices.
func (s *Store) Devices() *Collection[Device, *Device] { return s.c.devices }

// Alerts are raised by devices, thresholds and checks.
func (s *Store) Alerts() *Collection[Alert, *Alert] { return s.c.alerts }

// KPIDefinitions are tracked indicators.
func (s *Store) KPIDefinitions() *Collection[KPIDefinition, *KPIDefinition] {
	return s.c.kpiDefinitions
}

// KPIValues are indicator values per period.
func (s *Store) KPIValues() *Collection[KPIValue, *KPIValue] { return s.c.kpiValues }
