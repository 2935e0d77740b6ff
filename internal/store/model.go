package store

import (
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Meta is carried by every tenant record: its id, its organization and when
// it was written. The store sets all four.
type Meta struct {
	ID        uuid.UUID `json:"id"`
	OrgID     uuid.UUID `json:"org_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RecordMeta returns the record's Meta.
func (m *Meta) RecordMeta() *Meta { return m }

// field is one column of a record and a pointer to the Go value that holds
// it; the same list serves as insert values and as scan destinations.
type field struct {
	col string
	ptr any
}

// ---- core -----------------------------------------------------------------

// Organization is a tenant. Every other tenant record belongs to one.
type Organization struct {
	ID                   uuid.UUID `json:"id"`
	Name                 string    `json:"name"`
	Slug                 string    `json:"slug"`
	Country              string    `json:"country"`        // ISO 3166-1 alpha-2
	IndustryNAICS        string    `json:"industry_naics"` // 2017 NAICS code
	ReportingCurrency    string    `json:"reporting_currency"`
	FiscalYearStartMonth int       `json:"fiscal_year_start_month"`
	Settings             JSON      `json:"settings"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// Roles a user can hold.
const (
	RoleAdmin       = "admin"
	RoleAnalyst     = "analyst"
	RoleAuditor     = "auditor"
	RoleDataSteward = "data_steward"
	RoleViewer      = "viewer"
	RoleDevice      = "device"
)

// User is a person (or device identity) acting within one organization.
type User struct {
	Meta
	Email        string     `json:"email"`
	DisplayName  string     `json:"display_name"`
	Role         string     `json:"role"`
	PasswordHash string     `json:"-"`
	Disabled     bool       `json:"disabled"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty"`
}

func (u *User) fields() []field {
	return []field{{"email", &u.Email}, {"display_name", &u.DisplayName}, {"role", &u.Role},
		{"password_hash", &u.PasswordHash}, {"disabled", &u.Disabled}, {"last_login_at", &u.LastLoginAt}}
}

// APIToken is a machine credential. Only the SHA-256 of the secret is stored.
type APIToken struct {
	Meta
	UserID     *uuid.UUID `json:"user_id,omitempty"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // first characters of the token, to recognise it
	TokenHash  []byte     `json:"-"`
	Scopes     StringList `json:"scopes"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func (t *APIToken) fields() []field {
	return []field{{"user_id", &t.UserID}, {"name", &t.Name}, {"prefix", &t.Prefix}, {"token_hash", &t.TokenHash},
		{"scopes", &t.Scopes}, {"expires_at", &t.ExpiresAt}, {"last_used_at", &t.LastUsedAt}, {"revoked_at", &t.RevokedAt}}
}

// Site is a facility or location whose emissions are accounted.
type Site struct {
	Meta
	Name        string              `json:"name"`
	Code        string              `json:"code"`
	SiteType    string              `json:"site_type"` // office, plant, warehouse, store, data_center, …
	Address     string              `json:"address"`
	Country     string              `json:"country"` // ISO 3166-1 alpha-2
	Region      string              `json:"region"`  // grid region: eGRID subregion, state, …
	Latitude    decimal.NullDecimal `json:"latitude"`
	Longitude   decimal.NullDecimal `json:"longitude"`
	FloorAreaM2 decimal.NullDecimal `json:"floor_area_m2"`
	Active      bool                `json:"active"`
}

func (s *Site) fields() []field {
	return []field{{"name", &s.Name}, {"code", &s.Code}, {"site_type", &s.SiteType}, {"address", &s.Address},
		{"country", &s.Country}, {"region", &s.Region}, {"latitude", &s.Latitude}, {"longitude", &s.Longitude},
		{"floor_area_m2", &s.FloorAreaM2}, {"active", &s.Active}}
}

// ---- emissions ------------------------------------------------------------

// EmissionSource is something that emits: a boiler, a fleet, purchased
// electricity at a site, a spend category. Scope is 1, 2 or 3; Category is the
// GHG Protocol scope 3 category (1–15) and nil for scopes 1 and 2.
type EmissionSource struct {
	Meta
	SiteID      *uuid.UUID `json:"site_id,omitempty"`
	Name        string     `json:"name"`
	Scope       int        `json:"scope"`
	Category    *int       `json:"category,omitempty"`
	SourceType  string     `json:"source_type"` // stationary_combustion, mobile_combustion, purchased_electricity, …
	Description string     `json:"description"`
	Active      bool       `json:"active"`
}

func (e *EmissionSource) fields() []field {
	return []field{{"site_id", &e.SiteID}, {"name", &e.Name}, {"scope", &e.Scope}, {"category", &e.Category},
		{"source_type", &e.SourceType}, {"description", &e.Description}, {"active", &e.Active}}
}

// ActivityRecord is one measured or booked quantity of activity over a period:
// 1 200 kWh of electricity in March, 350 l of diesel, 12 000 EUR of spend.
type ActivityRecord struct {
	Meta
	SourceID     uuid.UUID       `json:"source_id"`
	SiteID       *uuid.UUID      `json:"site_id,omitempty"`
	ActivityType string          `json:"activity_type"`
	Quantity     decimal.Decimal `json:"quantity"`
	Unit         string          `json:"unit"`
	PeriodStart  time.Time       `json:"period_start"`
	PeriodEnd    time.Time       `json:"period_end"`
	DataQuality  int             `json:"data_quality"` // 1 (best) … 5
	Origin       string          `json:"origin"`       // manual, erp, iot, file
	OriginRef    string          `json:"origin_ref"`   // id of the record in its origin
	BatchID      *uuid.UUID      `json:"batch_id,omitempty"`
	Attributes   JSON            `json:"attributes"`
}

func (a *ActivityRecord) fields() []field {
	return []field{{"source_id", &a.SourceID}, {"site_id", &a.SiteID}, {"activity_type", &a.ActivityType},
		{"quantity", &a.Quantity}, {"unit", &a.Unit}, {"period_start", &a.PeriodStart}, {"period_end", &a.PeriodEnd},
		{"data_quality", &a.DataQuality}, {"origin", &a.Origin}, {"origin_ref", &a.OriginRef}, {"batch_id", &a.BatchID},
		{"attributes", &a.Attributes}}
}

// CalculationRun is one run of the GHG engine over a set of activity records.
type CalculationRun struct {
	Meta
	Status        string     `json:"status"` // running, succeeded, failed
	EngineVersion string     `json:"engine_version"`
	GWPSet        string     `json:"gwp_set"`
	FactorSetID   *uuid.UUID `json:"factor_set_id,omitempty"`
	Parameters    JSON       `json:"parameters"`
	StartedAt     time.Time  `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
	RecordsIn     int64      `json:"records_in"`
	RecordsOut    int64      `json:"records_out"`
	Error         string     `json:"error"`
}

func (r *CalculationRun) fields() []field {
	return []field{{"status", &r.Status}, {"engine_version", &r.EngineVersion}, {"gwp_set", &r.GWPSet},
		{"factor_set_id", &r.FactorSetID}, {"parameters", &r.Parameters}, {"started_at", &r.StartedAt},
		{"finished_at", &r.FinishedAt}, {"records_in", &r.RecordsIn}, {"records_out", &r.RecordsOut}, {"error", &r.Error}}
}

// CalculatedEmission is the result of calculating one activity record, with
// per-gas masses, CO2e for the run's GWP set and the lineage that explains it.
type CalculatedEmission struct {
	Meta
	RunID               uuid.UUID           `json:"run_id"`
	ActivityID          uuid.UUID           `json:"activity_id"`
	ActivityPeriodStart time.Time           `json:"activity_period_start"`
	SourceID            uuid.UUID           `json:"source_id"`
	SiteID              *uuid.UUID          `json:"site_id,omitempty"`
	Scope               int                 `json:"scope"`
	Category            *int                `json:"category,omitempty"`
	Scope2Basis         string              `json:"scope2_basis"` // location, market or empty
	Method              string              `json:"method"`
	FactorID            *uuid.UUID          `json:"factor_id,omitempty"`
	GWPSet              string              `json:"gwp_set"`
	CO2Kg               decimal.Decimal     `json:"co2_kg"`
	CH4Kg               decimal.Decimal     `json:"ch4_kg"`
	N2OKg               decimal.Decimal     `json:"n2o_kg"`
	OtherGases          JSON                `json:"other_gases"`
	CO2eKg              decimal.Decimal     `json:"co2e_kg"`
	BiogenicCO2Kg       decimal.Decimal     `json:"biogenic_co2_kg"`
	UncertaintyPct      decimal.NullDecimal `json:"uncertainty_pct"`
	DataQuality         decimal.NullDecimal `json:"data_quality"`
	PeriodStart         time.Time           `json:"period_start"`
	PeriodEnd           time.Time           `json:"period_end"`
	Lineage             JSON                `json:"lineage"`
	// SupersededBy is the run whose result replaced this one; superseded
	// results are kept for the audit trail and left out of every total.
	SupersededBy *uuid.UUID `json:"superseded_by,omitempty"`
	SupersededAt *time.Time `json:"superseded_at,omitempty"`
}

func (c *CalculatedEmission) fields() []field {
	return []field{{"run_id", &c.RunID}, {"activity_id", &c.ActivityID}, {"activity_period_start", &c.ActivityPeriodStart},
		{"source_id", &c.SourceID}, {"site_id", &c.SiteID}, {"scope", &c.Scope}, {"category", &c.Category},
		{"scope2_basis", &c.Scope2Basis}, {"method", &c.Method}, {"factor_id", &c.FactorID}, {"gwp_set", &c.GWPSet},
		{"co2_kg", &c.CO2Kg}, {"ch4_kg", &c.CH4Kg}, {"n2o_kg", &c.N2OKg}, {"other_gases", &c.OtherGases},
		{"co2e_kg", &c.CO2eKg}, {"biogenic_co2_kg", &c.BiogenicCO2Kg}, {"uncertainty_pct", &c.UncertaintyPct},
		{"data_quality", &c.DataQuality}, {"period_start", &c.PeriodStart}, {"period_end", &c.PeriodEnd},
		{"lineage", &c.Lineage}, {"superseded_by", &c.SupersededBy}, {"superseded_at", &c.SupersededAt}}
}

// ---- supply_chain ---------------------------------------------------------

// Supplier is a vendor the organization buys from.
type Supplier struct {
	Meta
	Name      string              `json:"name"`
	LegalName string              `json:"legal_name"`
	TaxID     string              `json:"tax_id"`
	DUNS      string              `json:"duns"`
	Country   string              `json:"country"`
	NAICS     string              `json:"naics"`
	Website   string              `json:"website"`
	RiskScore decimal.NullDecimal `json:"risk_score"`
	ESG       JSON                `json:"esg"`
	Active    bool                `json:"active"`
}

func (s *Supplier) fields() []field {
	return []field{{"name", &s.Name}, {"legal_name", &s.LegalName}, {"tax_id", &s.TaxID}, {"duns", &s.DUNS},
		{"country", &s.Country}, {"naics", &s.NAICS}, {"website", &s.Website}, {"risk_score", &s.RiskScore},
		{"esg", &s.ESG}, {"active", &s.Active}}
}

// Product is a purchased or sold good, with its product carbon footprint when known.
type Product struct {
	Meta
	SupplierID       *uuid.UUID          `json:"supplier_id,omitempty"`
	SKU              string              `json:"sku"`
	Name             string              `json:"name"`
	Category         string              `json:"category"`
	Unit             string              `json:"unit"`
	PCFKgCO2ePerUnit decimal.NullDecimal `json:"pcf_kg_co2e_per_unit"`
}

func (p *Product) fields() []field {
	return []field{{"supplier_id", &p.SupplierID}, {"sku", &p.SKU}, {"name", &p.Name}, {"category", &p.Category},
		{"unit", &p.Unit}, {"pcf_kg_co2e_per_unit", &p.PCFKgCO2ePerUnit}}
}

// PurchaseOrder is an order to a supplier; its lines are PurchaseOrderLines.
type PurchaseOrder struct {
	Meta
	SupplierID   *uuid.UUID      `json:"supplier_id,omitempty"`
	PONumber     string          `json:"po_number"`
	OrderDate    time.Time       `json:"order_date"`
	Currency     string          `json:"currency"`
	TotalAmount  decimal.Decimal `json:"total_amount"`
	Status       string          `json:"status"`
	SourceSystem string          `json:"source_system"`
	ExternalID   string          `json:"external_id"`
}

func (p *PurchaseOrder) fields() []field {
	return []field{{"supplier_id", &p.SupplierID}, {"po_number", &p.PONumber}, {"order_date", &p.OrderDate},
		{"currency", &p.Currency}, {"total_amount", &p.TotalAmount}, {"status", &p.Status},
		{"source_system", &p.SourceSystem}, {"external_id", &p.ExternalID}}
}

// PurchaseOrderLine is one line of a purchase order. OrderDate repeats the
// order's date: purchase orders are partitioned by it.
type PurchaseOrderLine struct {
	Meta
	POID          uuid.UUID       `json:"po_id"`
	OrderDate     time.Time       `json:"order_date"`
	LineNo        int             `json:"line_no"`
	ProductID     *uuid.UUID      `json:"product_id,omitempty"`
	Description   string          `json:"description"`
	Quantity      decimal.Decimal `json:"quantity"`
	Unit          string          `json:"unit"`
	UnitPrice     decimal.Decimal `json:"unit_price"`
	Amount        decimal.Decimal `json:"amount"`
	NAICS         string          `json:"naics"`
	SpendCategory string          `json:"spend_category"`
}

func (l *PurchaseOrderLine) fields() []field {
	return []field{{"po_id", &l.POID}, {"order_date", &l.OrderDate}, {"line_no", &l.LineNo}, {"product_id", &l.ProductID},
		{"description", &l.Description}, {"quantity", &l.Quantity}, {"unit", &l.Unit}, {"unit_price", &l.UnitPrice},
		{"amount", &l.Amount}, {"naics", &l.NAICS}, {"spend_category", &l.SpendCategory}}
}

// ---- csrd -----------------------------------------------------------------

// ESRSStandard is a European Sustainability Reporting Standard (E1, S1, …);
// reference data shared by every tenant.
type ESRSStandard struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Topic   string `json:"topic"` // cross_cutting, environmental, social, governance
	Version string `json:"version"`
}

// DataPoint is one ESRS disclosure value for a reporting period.
type DataPoint struct {
	Meta
	StandardCode  string              `json:"standard_code"`
	DatapointCode string              `json:"datapoint_code"` // e.g. E1-6_01
	Name          string              `json:"name"`
	PeriodStart   time.Time           `json:"period_start"`
	PeriodEnd     time.Time           `json:"period_end"`
	ValueNumeric  decimal.NullDecimal `json:"value_numeric"`
	ValueText     string              `json:"value_text"`
	Unit          string              `json:"unit"`
	Status        string              `json:"status"` // draft, in_review, approved, published
	Source        string              `json:"source"`
	Lineage       JSON                `json:"lineage"`
}

func (d *DataPoint) fields() []field {
	return []field{{"standard_code", &d.StandardCode}, {"datapoint_code", &d.DatapointCode}, {"name", &d.Name},
		{"period_start", &d.PeriodStart}, {"period_end", &d.PeriodEnd}, {"value_numeric", &d.ValueNumeric},
		{"value_text", &d.ValueText}, {"unit", &d.Unit}, {"status", &d.Status}, {"source", &d.Source},
		{"lineage", &d.Lineage}}
}

// ---- integration ----------------------------------------------------------

// ERPConnection is a configured link to an ERP system. Credentials are kept in
// memory in clear and stored sealed with AES-256-GCM; they never appear in
// JSON, logs or the audit trail.
type ERPConnection struct {
	Meta
	Name        string            `json:"name"`
	System      string            `json:"system"` // sap, oracle, workday, dynamics365, netsuite, spreadsheet
	BaseURL     string            `json:"base_url"`
	AuthType    string            `json:"auth_type"`
	Credentials map[string]string `json:"-"`
	Settings    JSON              `json:"settings"`
	Active      bool              `json:"active"`
	LastSyncAt  *time.Time        `json:"last_sync_at,omitempty"`
	// Schedule is when `greenlang serve` syncs the connection: a cron
	// expression (docs/erp.md); empty for never.
	Schedule string `json:"schedule"`

	sealed []byte // credentials as stored
	keyID  string // key that sealed them
}

func (c *ERPConnection) fields() []field {
	return []field{{"name", &c.Name}, {"system", &c.System}, {"base_url", &c.BaseURL}, {"auth_type", &c.AuthType},
		{"credentials_enc", &c.sealed}, {"credentials_key_id", &c.keyID}, {"settings", &c.Settings},
		{"active", &c.Active}, {"last_sync_at", &c.LastSyncAt}, {"schedule", &c.Schedule}}
}

// SyncJob is one run of a connector against one entity of a connection.
type SyncJob struct {
	Meta
	ConnectionID   uuid.UUID  `json:"connection_id"`
	Entity         string     `json:"entity"`
	Mode           string     `json:"mode"`   // incremental, full
	Status         string     `json:"status"` // queued, running, succeeded, failed
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	RecordsRead    int64      `json:"records_read"`
	RecordsWritten int64      `json:"records_written"`
	RecordsFailed  int64      `json:"records_failed"`
	Watermark      string     `json:"watermark"`
	Error          string     `json:"error"`
}

func (j *SyncJob) fields() []field {
	return []field{{"connection_id", &j.ConnectionID}, {"entity", &j.Entity}, {"mode", &j.Mode}, {"status", &j.Status},
		{"started_at", &j.StartedAt}, {"finished_at", &j.FinishedAt}, {"records_read", &j.RecordsRead},
		{"records_written", &j.RecordsWritten}, {"records_failed", &j.RecordsFailed}, {"watermark", &j.Watermark},
		{"error", &j.Error}}
}

// ---- iot ------------------------------------------------------------------

// Device is a registered IoT device.
type Device struct {
	Meta
	SiteID           *uuid.UUID `json:"site_id,omitempty"`
	DeviceType       string     `json:"device_type"` // air_quality, energy_meter, water_flow, emissions_sensor, temp_humidity, vehicle_tracker, solar_panel, waste_bin
	Serial           string     `json:"serial"`
	Name             string     `json:"name"`
	Status           string     `json:"status"` // registered, active, inactive, decommissioned
	FirmwareVersion  string     `json:"firmware_version"`
	LastSeenAt       *time.Time `json:"last_seen_at,omitempty"`
	CalibratedAt     *time.Time `json:"calibrated_at,omitempty"`
	CalibrationDueAt *time.Time `json:"calibration_due_at,omitempty"`
	Metadata         JSON       `json:"metadata"`
}

func (d *Device) fields() []field {
	return []field{{"site_id", &d.SiteID}, {"device_type", &d.DeviceType}, {"serial", &d.Serial}, {"name", &d.Name},
		{"status", &d.Status}, {"firmware_version", &d.FirmwareVersion}, {"last_seen_at", &d.LastSeenAt},
		{"calibrated_at", &d.CalibratedAt}, {"calibration_due_at", &d.CalibrationDueAt}, {"metadata", &d.Metadata}}
}

// SensorReading is one value of one metric from one device at one instant.
// Readings are idempotent by (device, metric, time): storing one twice keeps one.
type SensorReading struct {
	OrgID      uuid.UUID       `json:"org_id"`
	DeviceID   uuid.UUID       `json:"device_id"`
	Metric     string          `json:"metric"`
	Time       time.Time       `json:"time"`
	Value      decimal.Decimal `json:"value"`
	Unit       string          `json:"unit"`
	Quality    int             `json:"quality"` // 0 good, higher is worse
	ReceivedAt time.Time       `json:"received_at"`
}

// Alert is raised by a device, a threshold or a data-quality check.
type Alert struct {
	Meta
	DeviceID   *uuid.UUID          `json:"device_id,omitempty"`
	SiteID     *uuid.UUID          `json:"site_id,omitempty"`
	Severity   string              `json:"severity"` // info, warning, critical
	Kind       string              `json:"kind"`
	Message    string              `json:"message"`
	Metric     string              `json:"metric"`
	Value      decimal.NullDecimal `json:"value"`
	Threshold  decimal.NullDecimal `json:"threshold"`
	Status     string              `json:"status"` // open, acknowledged, resolved
	RaisedAt   time.Time           `json:"raised_at"`
	ResolvedAt *time.Time          `json:"resolved_at,omitempty"`
}

func (a *Alert) fields() []field {
	return []field{{"device_id", &a.DeviceID}, {"site_id", &a.SiteID}, {"severity", &a.Severity}, {"kind", &a.Kind},
		{"message", &a.Message}, {"metric", &a.Metric}, {"value", &a.Value}, {"threshold", &a.Threshold},
		{"status", &a.Status}, {"raised_at", &a.RaisedAt}, {"resolved_at", &a.ResolvedAt}}
}

// ---- analytics ------------------------------------------------------------

// KPIDefinition is a tracked indicator such as emissions intensity per revenue.
type KPIDefinition struct {
	Meta
	Code        string              `json:"code"`
	Name        string              `json:"name"`
	Unit        string              `json:"unit"`
	Description string              `json:"description"`
	Direction   string              `json:"direction"` // lower_better, higher_better
	Target      decimal.NullDecimal `json:"target"`
}

func (k *KPIDefinition) fields() []field {
	return []field{{"code", &k.Code}, {"name", &k.Name}, {"unit", &k.Unit}, {"description", &k.Description},
		{"direction", &k.Direction}, {"target", &k.Target}}
}

// KPIValue is a KPI's value for one period, optionally for one site.
type KPIValue struct {
	Meta
	KPIID       uuid.UUID       `json:"kpi_id"`
	SiteID      *uuid.UUID      `json:"site_id,omitempty"`
	PeriodStart time.Time       `json:"period_start"`
	PeriodEnd   time.Time       `json:"period_end"`
	Value       decimal.Decimal `json:"value"`
	ComputedAt  time.Time       `json:"computed_at"`
}

func (k *KPIValue) fields() []field {
	return []field{{"kpi_id", &k.KPIID}, {"site_id", &k.SiteID}, {"period_start", &k.PeriodStart},
		{"period_end", &k.PeriodEnd}, {"value", &k.Value}, {"computed_at", &k.ComputedAt}}
}

// ---- master_data ----------------------------------------------------------

// FactorSet is one edition of a factor publication (EPA Hub 2025, DESNZ 2024)
// or a tenant's own set (supplier-specific factors). Official sets have no
// organization.
type FactorSet struct {
	ID        uuid.UUID  `json:"id"`
	OrgID     *uuid.UUID `json:"org_id,omitempty"`
	Name      string     `json:"name"`
	Publisher string     `json:"publisher"`
	Edition   string     `json:"edition"`
	Version   string     `json:"version"`
	ValidFrom time.Time  `json:"valid_from"`
	ValidTo   *time.Time `json:"valid_to,omitempty"`
	SourceURL string     `json:"source_url"`
	License   string     `json:"license"`
	CreatedAt time.Time  `json:"created_at"`
}

// EmissionFactor is one factor value of a set for one gas, with the unit it
// applies to and the table of the publication it comes from.
type EmissionFactor struct {
	ID             uuid.UUID           `json:"id"`
	FactorSetID    uuid.UUID           `json:"factor_set_id"`
	ActivityType   string              `json:"activity_type"`
	Name           string              `json:"name"`
	Region         string              `json:"region"`
	Gas            string              `json:"gas"`
	Value          decimal.Decimal     `json:"value"`
	ValueUnit      string              `json:"value_unit"` // kg, g, kg CO2e
	PerUnit        string              `json:"per_unit"`   // kWh, mmBtu, l, USD, …
	HeatContent    decimal.NullDecimal `json:"heat_content"`
	HeatBasis      string              `json:"heat_basis"` // HHV, NCV or empty
	UncertaintyPct decimal.NullDecimal `json:"uncertainty_pct"`
	SourceTable    string              `json:"source_table"`
	ValidFrom      time.Time           `json:"valid_from"`
	ValidTo        *time.Time          `json:"valid_to,omitempty"`
	Attributes     JSON                `json:"attributes"`
}

// Benchmark is an industry reference value for comparison.
type Benchmark struct {
	ID     uuid.UUID       `json:"id"`
	NAICS  string          `json:"naics"`
	Region string          `json:"region"`
	Metric string          `json:"metric"`
	Year   int             `json:"year"`
	Value  decimal.Decimal `json:"value"`
	Unit   string          `json:"unit"`
	Source string          `json:"source"`
}

// ---- reporting ------------------------------------------------------------

// MonthlyEmissions is one row of the monthly emissions by scope report.
type MonthlyEmissions struct {
	Month       time.Time       `json:"month"`
	Scope       int             `json:"scope"`
	Scope2Basis string          `json:"scope2_basis"`
	CO2eKg      decimal.Decimal `json:"co2e_kg"`
	Records     int64           `json:"records"`
}
