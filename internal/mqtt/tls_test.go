package mqtt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/greenlang/greenlang/internal/mqtt"
)

// TestEmbeddedTLSListener starts the embedded broker with a self-signed
// certificate and connects a device over TLS.
func TestEmbeddedTLSListener(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}

	rec := newRecorder()
	tr, err := mqtt.Open(t.Context(), "mqtt+embedded://127.0.0.1:0", mqtt.Options{
		Handler: rec, Authenticator: testAuth(), Logger: testLogger(t),
		TLSCertFile: certFile, TLSKeyFile: keyFile, TLSAddr: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	e := tr.(*mqtt.Embedded)
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Close(context.Background()) }()

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	conn, err := tls.Dial("tcp", e.TLSAddr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS dial %s: %v", e.TLSAddr(), err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn), ClientID: "o1-d1"})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "o1-d1", CleanStart: true, KeepAlive: 30,
		Username: "o1-d1", UsernameFlag: true, Password: []byte("pw-d1"), PasswordFlag: true}); err != nil {
		t.Fatalf("CONNECT over TLS: %v", err)
	}
	defer func() { _ = c.Disconnect(&paho.Disconnect{}) }()
	if _, err := c.Publish(ctx, &paho.Publish{Topic: "greenlang/v1/o1/d1/telemetry", QoS: 1, Payload: []byte("tls")}); err != nil {
		t.Fatalf("publishing over TLS: %v", err)
	}
	if rec.total() != 1 {
		t.Fatalf("handler got %d messages, want 1", rec.total())
	}
}
