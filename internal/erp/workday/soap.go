package workday

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/greenlang/greenlang/internal/erp"
	"github.com/greenlang/greenlang/internal/erp/erphttp"
)

// SOAP and WS-Security namespaces.
const (
	nsSOAPEnv  = "http://schemas.xmlsoap.org/soap/envelope/"
	nsBsvc     = "urn:com.workday/bsvc"
	nsWSSE     = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	pwTextType = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)

// soapPath is the Human_Resources endpoint of tenant.
func soapPath(tenant, version string) string {
	return "/ccx/service/" + url.PathEscape(tenant) + "/Human_Resources/" + url.PathEscape(version)
}

// xmlText escapes s for XML character data and attribute values.
func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// getWorkersRequest renders a Get_Workers request for one page.
func getWorkersRequest(auth *soapAuth, version string, page, count int, asOf string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.WriteString(`<env:Envelope xmlns:env="` + nsSOAPEnv + `" xmlns:bsvc="` + nsBsvc + `">`)
	b.WriteString(`<env:Header><wsse:Security env:mustUnderstand="1" xmlns:wsse="` + nsWSSE + `"><wsse:UsernameToken>`)
	b.WriteString(`<wsse:Username>` + xmlText(auth.username) + `</wsse:Username>`)
	b.WriteString(`<wsse:Password Type="` + pwTextType + `">` + xmlText(auth.password) + `</wsse:Password>`)
	b.WriteString(`</wsse:UsernameToken></wsse:Security></env:Header>`)
	b.WriteString(`<env:Body><bsvc:Get_Workers_Request bsvc:version="` + xmlText(version) + `">`)
	b.WriteString(`<bsvc:Request_Criteria><bsvc:Exclude_Inactive_Workers>false</bsvc:Exclude_Inactive_Workers></bsvc:Request_Criteria>`)
	b.WriteString(`<bsvc:Response_Filter>`)
	if asOf != "" {
		b.WriteString(`<bsvc:As_Of_Entry_DateTime>` + xmlText(asOf) + `</bsvc:As_Of_Entry_DateTime>`)
	}
	b.WriteString(`<bsvc:Page>` + strconv.Itoa(page) + `</bsvc:Page><bsvc:Count>` + strconv.Itoa(count) + `</bsvc:Count>`)
	b.WriteString(`</bsvc:Response_Filter>`)
	b.WriteString(`<bsvc:Response_Group><bsvc:Include_Reference>true</bsvc:Include_Reference>` +
		`<bsvc:Include_Personal_Information>true</bsvc:Include_Personal_Information>` +
		`<bsvc:Include_Employment_Information>true</bsvc:Include_Employment_Information></bsvc:Response_Group>`)
	b.WriteString(`</bsvc:Get_Workers_Request></env:Body></env:Envelope>`)
	return []byte(b.String())
}

// soapFault is a SOAP 1.1 fault.
type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Inner string `xml:",innerxml"`
	} `xml:"detail"`
}

// soapID is a Workday reference ID with its type.
type soapID struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

// soapCountryRef is a Country_Reference.
type soapCountryRef struct {
	IDs []soapID `xml:"ID"`
}

func (r soapCountryRef) alpha2() string {
	for _, id := range r.IDs {
		if id.Type == "ISO_3166-1_Alpha-2_Code" {
			return strings.TrimSpace(id.Value)
		}
	}
	return ""
}

// soapWorker is a wd:Worker element of Get_Workers_Response.
type soapWorker struct {
	Inner []byte `xml:",innerxml"`
	Ref   struct {
		Descriptor string   `xml:"Descriptor,attr"`
		IDs        []soapID `xml:"ID"`
	} `xml:"Worker_Reference"`
	Descriptor string `xml:"Worker_Descriptor"`
	Data       struct {
		WorkerID string `xml:"Worker_ID"`
		Name     struct {
			Formatted string `xml:"Formatted_Name,attr"`
		} `xml:"Personal_Data>Name_Data>Legal_Name_Data>Name_Detail_Data"`
		Jobs []struct {
			Primary string `xml:"Primary_Job,attr"`
			Site    struct {
				Name    string         `xml:"Name"`
				Country soapCountryRef `xml:"Address_Data>Country_Reference"`
			} `xml:"Position_Data>Business_Site_Summary_Data"`
		} `xml:"Employment_Data>Worker_Job_Data"`
		Status struct {
			Active string `xml:"Active"`
		} `xml:"Employment_Data>Worker_Status_Data"`
	} `xml:"Worker_Data"`
}

// getWorkersEnvelope is a Get_Workers response or a fault.
type getWorkersEnvelope struct {
	XMLName xml.Name `xml:"Envelope"`
	Body    struct {
		Fault    *soapFault `xml:"Fault"`
		Response *struct {
			Filter struct {
				AsOfEntry string `xml:"As_Of_Entry_DateTime"`
			} `xml:"Response_Filter"`
			Results struct {
				TotalResults int `xml:"Total_Results"`
				TotalPages   int `xml:"Total_Pages"`
				PageResults  int `xml:"Page_Results"`
				Page         int `xml:"Page"`
			} `xml:"Response_Results"`
			Workers []soapWorker `xml:"Response_Data>Worker"`
		} `xml:"Get_Workers_Response"`
	} `xml:"Body"`
}

// xmlBool reads Workday's "1"/"0"/"true"/"false".
func xmlBool(s string) bool {
	s = strings.TrimSpace(s)
	return s == "1" || strings.EqualFold(s, "true")
}

// parseSOAPWorker maps one Worker element; Original is its XML as a JSON
// string.
func parseSOAPWorker(w soapWorker) (erp.Record, *erp.Rejected) {
	xmlText := "<wd:Worker>" + string(w.Inner) + "</wd:Worker>"
	orig, _ := json.Marshal(xmlText)
	id := strings.TrimSpace(w.Data.WorkerID)
	if id == "" {
		for _, r := range w.Ref.IDs {
			if r.Type == "Employee_ID" || r.Type == "Contingent_Worker_ID" {
				id = strings.TrimSpace(r.Value)
			}
		}
	}
	if id == "" {
		rj := reject("", fieldErr("Worker_Data/Worker_ID", "", "is required"), orig)
		return erp.Record{}, &rj
	}
	wk := &erp.Worker{ID: id, Name: w.Data.Name.Formatted, Active: xmlBool(w.Data.Status.Active)}
	if wk.Name == "" {
		wk.Name = strings.TrimSpace(w.Descriptor)
	}
	for i, j := range w.Data.Jobs {
		if i == 0 || xmlBool(j.Primary) {
			wk.Location = strings.TrimSpace(j.Site.Name)
			wk.Country = j.Site.Country.alpha2()
		}
	}
	r := erp.Record{Kind: erp.KindWorker, Key: id, Worker: wk, Original: orig}
	if err := r.Validate(); err != nil {
		rj := reject(id, err, orig)
		return erp.Record{}, &rj
	}
	return r, nil
}

// parseGetWorkers decodes a Get_Workers response body.
func parseGetWorkers(body []byte) (*getWorkersEnvelope, error) {
	var env getWorkersEnvelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	if env.Body.Fault == nil && env.Body.Response == nil {
		return nil, fmt.Errorf("no Get_Workers_Response or Fault in the SOAP body")
	}
	return &env, nil
}

// fetchSOAPWorkers reads one page of workers with Get_Workers. The first
// page pins As_Of_Entry_DateTime (from the response) so that later pages see
// the same data set, as Workday recommends for paging.
func (c *Connector) fetchSOAPWorkers(ctx context.Context, req erp.PageRequest) (erp.Page, error) {
	k, err := readCursor(req)
	if err != nil {
		return erp.Page{}, c.errorf("workers: %v", err)
	}
	if k.Page == 0 {
		k.Page = 1
	}
	count := req.PageSize
	if count <= 0 {
		count = DefaultSOAPCount
	}
	count = min(count, MaxSOAPCount)
	path := soapPath(c.settings.Tenant, c.settings.HRVersion)
	u := *c.base
	u.Path += path
	body := getWorkersRequest(c.soap, c.settings.HRVersion, k.Page, count, k.AsOf)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return erp.Page{}, c.errorf("workers: %v", err)
	}
	hreq.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hreq.Header.Set("SOAPAction", `""`)
	// Get_Workers only reads: safe to repeat on 5xx and timeouts.
	hreq = erphttp.Idempotent(hreq)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return erp.Page{}, c.errorf("POST %s (Get_Workers page %d): %v", path, k.Page, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return erp.Page{}, c.errorf("POST %s: reading the body: %v", path, err)
	}
	env, perr := parseGetWorkers(rb)
	if perr == nil && env.Body.Fault != nil {
		f := env.Body.Fault
		return erp.Page{}, c.errorf("POST %s (Get_Workers page %d): HTTP %s: SOAP fault %s: %s", path, k.Page,
			originalStatus(resp), strings.TrimSpace(f.Code), strings.TrimSpace(f.String))
	}
	if resp.StatusCode/100 != 2 {
		return erp.Page{}, c.errorf("POST %s (Get_Workers page %d): HTTP %s", path, k.Page, resp.Status)
	}
	if perr != nil {
		return erp.Page{}, c.errorf("POST %s (Get_Workers page %d): malformed SOAP response: %v", path, k.Page, perr)
	}
	r := env.Body.Response
	if k.Page == 1 {
		if k.Start == "" {
			k.Start = serverTime(resp)
		}
		if k.AsOf == "" {
			k.AsOf = strings.TrimSpace(r.Filter.AsOfEntry)
		}
	}
	page := erp.Page{}
	for _, w := range r.Workers {
		rec, rj := parseSOAPWorker(w)
		if rj != nil {
			page.Rejected = append(page.Rejected, *rj)
			continue
		}
		page.Records = append(page.Records, rec)
	}
	if len(r.Workers) == 0 || k.Page >= r.Results.TotalPages {
		page.Watermark = k.watermark(r.Results.TotalResults)
		return page, nil
	}
	k.Page++
	page.Next = k.encode()
	return page, nil
}

// soapFaultClassifier sits under the erphttp client of SOAP connections.
// Workday answers every SOAP fault with HTTP 500, which the client would
// retry; a Client fault (bad credentials, invalid request) cannot succeed
// when repeated, so it is passed up as 400 (the original status is kept in
// the X-Workday-Original-Status header). Server faults stay 500 and are
// retried.
type soapFaultClassifier struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t *soapFaultClassifier) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusInternalServerError {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if rerr != nil {
		return resp, nil
	}
	var env struct {
		Body struct {
			Fault *soapFault `xml:"Fault"`
		} `xml:"Body"`
	}
	if xml.Unmarshal(body, &env) != nil || env.Body.Fault == nil {
		return resp, nil
	}
	code := env.Body.Fault.Code
	if i := strings.LastIndex(code, ":"); i >= 0 {
		code = code[i+1:]
	}
	if strings.HasPrefix(code, "Client") {
		resp.Header.Set("X-Workday-Original-Status", resp.Status)
		resp.StatusCode = http.StatusBadRequest
		resp.Status = "400 Bad Request"
	}
	return resp, nil
}

// originalStatus is the status Workday sent (before soapFaultClassifier).
func originalStatus(resp *http.Response) string {
	if s := resp.Header.Get("X-Workday-Original-Status"); s != "" {
		return s
	}
	return resp.Status
}
