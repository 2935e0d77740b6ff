package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// Device commands and firmware campaigns (docs/iot-commands.md): queued
// here, sent by the Commander of a running `greenlang serve`.

// configureRequest is the body of POST /api/v1/devices/{id}/configure.
type configureRequest struct {
	// Settings is the configuration, a JSON object of at least one key.
	Settings json.RawMessage `json:"settings"`
	// TTL is how long the device has to carry it out ("2h"); default 24h.
	TTL string `json:"ttl"`
}

// deviceConfigure answers POST /api/v1/devices/{id}/configure: it queues a
// configure command, as `greenlang iot configure` does (202, the command).
func (a *api) deviceConfigure(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req configureRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	ttl, err := parseTTL("ttl", req.TTL)
	if err != nil {
		return err
	}
	c, err := a.st.DeviceCommandCreate(r.Context(), tok.OrgID, store.DeviceCommandCreateParams{DeviceID: id,
		Kind: store.CommandConfigure, Payload: store.JSON(req.Settings), TTL: ttl})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/commands/"+c.ID.String())
	writeJSON(w, http.StatusAccepted, c)
	return nil
}

// deviceCommands answers GET /api/v1/devices/{id}/commands?status=&limit=:
// the device's commands, newest first.
func (a *api) deviceCommands(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(store.CommandStatuses(), status) {
		return badRequest("status", "status %q: want one of %s", status, strings.Join(store.CommandStatuses(), ", "))
	}
	limit, err := queryLimit(r, 100, MaxListLimit)
	if err != nil {
		return err
	}
	if _, err := a.device(r.Context(), tok.OrgID, id); err != nil {
		return err
	}
	cmds, err := a.st.DeviceCommandsList(r.Context(), tok.OrgID, store.DeviceCommandFilter{DeviceID: id, Status: status, Limit: limit})
	if err != nil {
		return err
	}
	if cmds == nil {
		cmds = []store.DeviceCommand{}
	}
	writeJSON(w, http.StatusOK, listResponse[store.DeviceCommand]{Items: cmds})
	return nil
}

// commandShow answers GET /api/v1/commands/{id}.
func (a *api) commandShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := a.st.DeviceCommandGet(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// campaignCreateRequest is the body of POST /api/v1/firmware-campaigns.
type campaignCreateRequest struct {
	Name            string   `json:"name"`
	DeviceType      string   `json:"device_type"`
	FirmwareVersion string   `json:"firmware_version"`
	URL             string   `json:"url"`
	SHA256          string   `json:"sha256"`
	Devices         []string `json:"devices"` // ids; empty: every registered or active device of the type
	TTL             string   `json:"ttl"`
}

// campaignCreate answers POST /api/v1/firmware-campaigns: the campaign
// and one queued firmware_update command per device, created at once
// (201, the campaign with its counts).
func (a *api) campaignCreate(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	var req campaignCreateRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	ttl, err := parseTTL("ttl", req.TTL)
	if err != nil {
		return err
	}
	ids := make([]uuid.UUID, 0, len(req.Devices))
	for _, s := range req.Devices {
		id, err := parseID("devices", s)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	camp, _, err := a.st.FirmwareCampaignCreate(r.Context(), tok.OrgID, store.FirmwareCampaignCreateParams{Name: req.Name,
		DeviceType: req.DeviceType, FirmwareVersion: req.FirmwareVersion, URL: req.URL, SHA256: req.SHA256, Devices: ids, TTL: ttl})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/firmware-campaigns/"+camp.ID.String())
	writeJSON(w, http.StatusCreated, campaignView(camp))
	return nil
}

// campaignJSON is a campaign with its total beside its counts by status.
type campaignJSON struct {
	*store.FirmwareCampaign
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
}

func campaignView(c *store.FirmwareCampaign) campaignJSON {
	counts := c.Counts
	if counts == nil {
		counts = map[string]int{}
	}
	return campaignJSON{c, counts, c.Total()}
}

// campaignsList answers GET /api/v1/firmware-campaigns: the organization's
// campaigns, newest first, with their counts.
func (a *api) campaignsList(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	cs, err := a.st.FirmwareCampaignsList(r.Context(), tok.OrgID)
	if err != nil {
		return err
	}
	out := listResponse[campaignJSON]{Items: make([]campaignJSON, 0, len(cs))}
	for i := range cs {
		out.Items = append(out.Items, campaignView(&cs[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// campaignDetail is a campaign with each device's command.
type campaignDetail struct {
	campaignJSON
	Commands []store.DeviceCommand `json:"commands"`
	// CommandsTruncated says that Commands holds the newest
	// maxCampaignCommands of more (Counts has them all).
	CommandsTruncated bool `json:"commands_truncated,omitempty"`
}

// maxCampaignCommands is the most commands a campaign's detail lists.
const maxCampaignCommands = 10000

// campaignShow answers GET /api/v1/firmware-campaigns/{id}: the campaign,
// its counts by status and each device's command (status, progress,
// message).
func (a *api) campaignShow(w http.ResponseWriter, r *http.Request, tok *store.APIToken) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	camp, err := a.st.FirmwareCampaignGet(r.Context(), tok.OrgID, id)
	if err != nil {
		return err
	}
	cmds, err := a.st.DeviceCommandsList(r.Context(), tok.OrgID, store.DeviceCommandFilter{CampaignID: id, Limit: maxCampaignCommands})
	if err != nil {
		return err
	}
	if cmds == nil {
		cmds = []store.DeviceCommand{}
	}
	writeJSON(w, http.StatusOK, campaignDetail{campaignView(camp), cmds, camp.Total() > len(cmds)})
	return nil
}
