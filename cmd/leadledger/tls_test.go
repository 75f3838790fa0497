package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// writeCertificate writes a self-signed certificate for 127.0.0.1 with a serial of its own.
func writeCertificate(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprintf("ledger-%d", serial)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// With tls configured the API answers over HTTPS only, TLS 1.2 and later; on SIGHUP a renewed
// certificate is served to new connections while a connection opened before keeps working;
// files that do not load are logged and the certificate in use kept.
func TestServeTLSReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCertificate(t, certFile, keyFile, 1)
	addr := freeAddr(t)
	cfg := writeConfig(t, dir, addr, "sqlite:"+filepath.Join(dir, "ledger.db"))
	cmd := exec.Command(binary(t), "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), "TEST_OPERATOR_TOKEN="+testOperator, "TEST_LEADFLO_SECRET="+testSecret,
		"LEDGER_TLS_CERT_FILE="+certFile, "LEDGER_TLS_KEY_FILE="+keyFile)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	trusting := func(certs ...*x509.Certificate) *http.Client {
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	served := func(client *http.Client) (*x509.Certificate, error) {
		resp, err := client.Get("https://" + addr + "/healthz")
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body) // read to the end: the connection stays open for the next request
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("status %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	kept := trusting(first)
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = served(kept); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("https: %v\n%s", err, logs)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP answered 200 on the TLS listener")
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: kept.Transport.(*http.Transport).TLSClientConfig.RootCAs, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}

	second := writeCertificate(t, certFile, keyFile, 2)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	fresh := trusting(first, second)
	var got *x509.Certificate
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		fresh.CloseIdleConnections()
		if got, err = served(fresh); err == nil && got.SerialNumber.Int64() == 2 {
			break
		}
	}
	if got == nil || got.SerialNumber.Int64() != 2 {
		t.Fatalf("after SIGHUP a new connection got %v (%v), want the renewed certificate\n%s", got, err, logs)
	}
	if c, err := served(kept); err != nil || c.SerialNumber.Int64() != 1 {
		t.Errorf("the connection opened before the reload: %v %v, want it kept with the first certificate", c, err)
	}

	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor := time.Now().Add(10 * time.Second)
	for !containsLog(logs, "tls: kept the certificate in use") && time.Now().Before(waitFor) {
		time.Sleep(50 * time.Millisecond)
	}
	fresh.CloseIdleConnections()
	if c, err := served(fresh); err != nil || c.SerialNumber.Int64() != 2 {
		t.Errorf("after a SIGHUP with broken files: %v %v, want the renewed certificate still served\n%s", c, err, logs)
	}
}

func containsLog(l *lockedBuffer, s string) bool {
	return bytes.Contains([]byte(l.String()), []byte(s))
}
