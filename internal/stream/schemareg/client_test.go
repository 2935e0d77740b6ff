package schemareg_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/greenlang/greenlang/internal/stream/schemareg"
	"github.com/greenlang/greenlang/internal/stream/schemareg/schemaregtest"
)

// TestNewClientURL: bad URLs are refused without connecting, and the
// password is in no message, even where url.Parse would quote it.
func TestNewClientURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"http://svc:s3cr3t/x@host:8081",   // the password parses as a port
		"http://svc:s3cr3t@host:8081/%zz", // bad escape
		"ftp://svc:s3cr3t@host",
		"http://svc:s3cr3t@/path",
		"http://svc:s3cr3t@host?x=1",
		"host:8081",
	} {
		_, err := schemareg.NewClient(u, schemareg.ClientOptions{})
		if err == nil {
			t.Errorf("%s: accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error shows the password: %v", u, err)
		}
	}
	c, err := schemareg.NewClient("https://svc:s3cr3t@registry.example:8081/sr", schemareg.ClientOptions{})
	if err != nil || c.URL() != "https://registry.example:8081/sr" {
		t.Fatalf("%v %v", c, err)
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := fake(t)
	c, err := schemareg.NewClient(reg.URL()+"/", schemareg.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	subject := "a.b-value"
	id, err := c.Register(ctx, subject, readingV1)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.Register(ctx, subject, readingV1); err != nil || again != id {
		t.Fatalf("again: %d %v", again, err)
	}
	// Look-ups by id are cached: the Register above already filled it.
	if text, err := c.SchemaByID(ctx, id); err != nil || text != readingV1 {
		t.Fatalf("by id: %q %v", text, err)
	}
	fresh, err := schemareg.NewClient(reg.URL(), schemareg.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := fresh.SchemaByID(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := reg.Requests("GET /schemas/ids/{id}"); n != 1 {
		t.Fatalf("%d requests for one id", n)
	}
	if _, err := fresh.SchemaByID(ctx, 999); !schemareg.IsErrorCode(err, schemareg.ErrorCodeSchemaNotFound) {
		t.Fatalf("unknown id: %v", err)
	}

	// Compatibility: a missing subject is compatible; an incompatible
	// schema comes with the registry's messages.
	if v, err := c.CheckCompatibility(ctx, "nobody-value", readingV1); err != nil || !v.Compatible {
		t.Fatalf("new subject: %+v %v", v, err)
	}
	if v, err := c.CheckCompatibility(ctx, subject, readingV2); err != nil || !v.Compatible {
		t.Fatalf("compatible: %+v %v", v, err)
	}
	v, err := c.CheckCompatibility(ctx, subject, readingNoDefault)
	if err != nil || v.Compatible || len(v.Messages) == 0 || !strings.Contains(strings.Join(v.Messages, " "), "site") {
		t.Fatalf("incompatible: %+v %v", v, err)
	}
	_, err = c.Register(ctx, subject, readingNoDefault)
	var re *schemareg.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 409 || re.ErrorCode != 409 || !strings.Contains(re.Message, "incompatible") {
		t.Fatalf("register incompatible: %v", err)
	}
	if _, err := c.Register(ctx, subject, `{"type":"record"}`); !schemareg.IsErrorCode(err, schemareg.ErrorCodeInvalidSchema) {
		t.Fatalf("invalid schema: %v", err)
	}

	// Levels: the global one until the subject has its own.
	if level, own, err := c.CompatibilityLevel(ctx, subject); err != nil || own || level != schemareg.LevelBackward {
		t.Fatalf("level %q %v %v", level, own, err)
	}
	if err := c.SetCompatibilityLevel(ctx, subject, schemareg.LevelFull); err != nil {
		t.Fatal(err)
	}
	if level, own, err := c.CompatibilityLevel(ctx, subject); err != nil || !own || level != schemareg.LevelFull {
		t.Fatalf("level %q %v %v", level, own, err)
	}
	if err := c.SetCompatibilityLevel(ctx, subject, "SIDEWAYS"); !errors.As(err, &re) || re.ErrorCode != 42203 {
		t.Fatalf("bad level: %v", err)
	}
}

// TestServer checks the test registry's own semantics the client does
// not reach: ids global, versions per subject, transitive and forward
// levels.
func TestServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := fake(t)
	c, err := schemareg.NewClient(reg.URL(), schemareg.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Register(ctx, "a-value", readingV1)
	b, _ := c.Register(ctx, "b-value", readingV1)
	a2, _ := c.Register(ctx, "a-value", readingV2)
	if a != b || a2 == a || len(reg.Versions("a-value")) != 2 || len(reg.Versions("b-value")) != 1 {
		t.Fatalf("ids %d %d %d, versions %v %v", a, b, a2, reg.Versions("a-value"), reg.Versions("b-value"))
	}
	// v3 drops unit's default: compatible with the latest (v2 has unit),
	// not with v1 (which has none), so only BACKWARD_TRANSITIVE refuses it.
	noDefault := strings.Replace(readingV2, `, "default": "kWh"`, "", 1)
	if v, err := c.CheckCompatibility(ctx, "a-value", noDefault); err != nil || !v.Compatible {
		t.Fatalf("BACKWARD against latest: %+v %v", v, err)
	}
	if err := c.SetCompatibilityLevel(ctx, "a-value", schemareg.LevelBackwardTransitive); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "a-value", noDefault); !schemareg.IsErrorCode(err, schemareg.ErrorCodeIncompatibleSchema) {
		t.Fatalf("BACKWARD_TRANSITIVE: %v", err)
	}
	// FORWARD: the old schema must read the new one's data, so a removed
	// field without a default in the old schema is refused.
	if err := c.SetCompatibilityLevel(ctx, "b-value", schemareg.LevelForward); err != nil {
		t.Fatal(err)
	}
	dropped := strings.Replace(readingV1, `{"name": "device", "type": "string"},`, "", 1)
	if _, err := c.Register(ctx, "b-value", dropped); !schemareg.IsErrorCode(err, schemareg.ErrorCodeIncompatibleSchema) {
		t.Fatalf("FORWARD: %v", err)
	}
	// NONE accepts anything parseable.
	if err := c.SetCompatibilityLevel(ctx, "b-value", schemareg.LevelNone); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "b-value", readingRetyped); err != nil {
		t.Fatalf("NONE: %v", err)
	}
}

// TestServerAuth: the test registry refuses requests without the
// credentials, as a secured registry does.
func TestServerAuth(t *testing.T) {
	t.Parallel()
	reg := fake(t, schemaregtest.WithBasicAuth("svc", "pw"))
	c, err := schemareg.NewClient(reg.URL(), schemareg.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var re *schemareg.ResponseError
	if _, err := c.Register(context.Background(), "a-value", readingV1); !errors.As(err, &re) || re.StatusCode != 401 {
		t.Fatalf("no credentials: %v", err)
	}
}
