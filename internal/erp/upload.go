package erp

import (
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/greenlang/greenlang/internal/store"
)

// MaxUploadBytes is the largest file Syncer.Upload takes.
const MaxUploadBytes = 256 << 20

// Upload hands a file to a connection whose connector takes uploads (the
// spreadsheet connector): it is checked, stored where the next sync reads
// it, and recorded in the audit trail. A refused file is a *FieldError
// (wrapped) naming what is wrong with it, and nothing is stored.
func (s *Syncer) Upload(ctx context.Context, org uuid.UUID, name, file string, r io.Reader) (UploadResult, error) {
	c, conn, err := s.storedConnector(ctx, org, name)
	if err != nil {
		return UploadResult{}, err
	}
	up, ok := conn.(Uploader)
	if !ok {
		return UploadResult{}, &store.Error{Code: store.CodeFailedPrecondition, Op: "erp: uploading a file",
			Msg: fmt.Sprintf("connection %s is a %s connection, which reads its system's API, not uploaded files (spreadsheet does)", name, c.System)}
	}
	res, err := up.Upload(file, r, MaxUploadBytes)
	if err != nil {
		return res, fmt.Errorf("connection %s: %w", name, err)
	}
	if err := s.st.RecordERPUpload(ctx, org, c.ID, file, res); err != nil {
		return res, fmt.Errorf("connection %s: %s was stored but recording it in the audit trail failed: %w", name, file, err)
	}
	s.log.InfoContext(ctx, "erp: file uploaded", "connection", name, "file", file, "bytes", res.Bytes,
		"records", res.Records, "rejected_rows", res.RejectedRows, "replaced", res.Replaced)
	return res, nil
}
