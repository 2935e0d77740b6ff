package spreadsheet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/greenlang/greenlang/internal/erp"
)

// uploadDir is where an upload is written before it is checked and renamed
// into the connection's directory: a subdirectory, so no entity's glob
// matches a half-written file.
const uploadDir = ".uploads"

// maxRejectedShown bounds UploadResult.Rejected.
const maxRejectedShown = 100

var _ erp.Uploader = (*Connector)(nil)

// Upload implements erp.Uploader. name must be a plain .csv or .xlsx file
// name that at least one entity's pattern matches; the content (at most
// limit bytes) must read as that entity's file: a header row with every
// mapped column. Only then is it renamed into the directory, replacing a
// file of the same name; rows that will be quarantined are reported, not
// refused (the sync keeps them with their reasons). A refused upload
// leaves the directory as it was.
func (c *Connector) Upload(name string, r io.Reader, limit int64) (erp.UploadResult, error) {
	res := erp.UploadResult{File: name, Entities: []string{}, Rejected: []string{}}
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return res, &erp.FieldError{Field: "file", Value: name, Reason: "is not a plain file name"}
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".csv" && ext != ".xlsx" {
		return res, &erp.FieldError{Field: "file", Value: name, Reason: "is not a .csv or .xlsx file"}
	}
	var patterns []string
	for _, n := range c.names {
		e := c.entities[n]
		patterns = append(patterns, e.Files)
		if ok, err := filepath.Match(e.Files, name); err == nil && ok {
			res.Entities = append(res.Entities, n)
		}
	}
	if len(res.Entities) == 0 {
		return res, &erp.FieldError{Field: "file", Value: name,
			Reason: fmt.Sprintf("no entity reads it (their files: %s)", strings.Join(patterns, ", "))}
	}
	tmpDir := filepath.Join(c.dir, uploadDir)
	if err := os.MkdirAll(tmpDir, 0o750); err != nil {
		return res, err
	}
	tmp, err := os.CreateTemp(tmpDir, "upload-*"+ext)
	if err != nil {
		return res, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(r, limit+1))
	if err != nil {
		return res, fmt.Errorf("spreadsheet: receiving %s: %w", name, err)
	}
	if n > limit {
		return res, &erp.FieldError{Field: "file", Value: name, Reason: fmt.Sprintf("is larger than %d bytes", limit)}
	}
	if n == 0 {
		return res, &erp.FieldError{Field: "file", Value: name, Reason: "is empty"}
	}
	res.Bytes = n
	if err := tmp.Sync(); err != nil {
		return res, err
	}
	if err := tmp.Close(); err != nil {
		return res, err
	}
	for _, ent := range res.Entities {
		page, err := c.parseFile(ent, tmp.Name(), name)
		if err != nil {
			return res, &erp.FieldError{Field: "file", Value: name, Reason: fmt.Sprintf("entity %s: %v", ent, err)}
		}
		res.Records += len(page.Records)
		res.RejectedRows += len(page.Rejected)
		for _, rj := range page.Rejected {
			if len(res.Rejected) < maxRejectedShown {
				res.Rejected = append(res.Rejected, ent+": "+rj.Reason)
			}
		}
	}
	dst := filepath.Join(c.dir, name)
	if _, err := os.Stat(dst); err == nil {
		res.Replaced = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return res, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return res, fmt.Errorf("spreadsheet: storing %s: %w", name, err)
	}
	done = true
	return res, nil
}
