// For tests only (server and client): a throwaway certificate authority and a server certificate
// it signed, made with OpenSSL's API and written as PEM files to a temporary directory. Links
// OpenSSL::Crypto. Throws std::runtime_error if OpenSSL fails (the test then fails).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sluice::http::testing {

class TestCertificates {
 public:
  // A CA ("Sluice Test CA") and a server certificate signed by it whose subject alternative names
  // are `alt_names` in OpenSSL's syntax ("IP:127.0.0.1", "DNS:sluice.test").
  explicit TestCertificates(const std::vector<std::string>& alt_names = {"IP:127.0.0.1"}) {
    char tmpl[] = "/tmp/sluice-tls-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    Key ca_key = NewKey();
    Cert ca = NewCertificate("Sluice Test CA", ca_key.get(), nullptr, ca_key.get(), 1,
                             {{NID_basic_constraints, "critical,CA:TRUE"},
                              {NID_key_usage, "critical,keyCertSign,cRLSign"},
                              {NID_subject_key_identifier, "hash"}});
    Key server_key = NewKey();
    std::string names;
    for (const auto& name : alt_names) names += (names.empty() ? "" : ",") + name;
    Cert server = NewCertificate("sluice-test-server", server_key.get(), ca.get(), ca_key.get(), 2,
                                 {{NID_basic_constraints, "critical,CA:FALSE"},
                                  {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
                                  {NID_ext_key_usage, "serverAuth"},
                                  {NID_subject_alt_name, names},
                                  {NID_subject_key_identifier, "hash"},
                                  {NID_authority_key_identifier, "keyid:always"}});
    ca_file_ = dir_ + "/ca.pem";
    cert_file_ = dir_ + "/server-chain.pem";
    key_file_ = dir_ + "/server-key.pem";
    unrelated_key_file_ = dir_ + "/unrelated-key.pem";
    WritePem(ca_file_, [&](FILE* f) { return PEM_write_X509(f, ca.get()); });
    // The chain: the server's certificate, then its issuer's.
    WritePem(cert_file_, [&](FILE* f) {
      return PEM_write_X509(f, server.get()) == 1 && PEM_write_X509(f, ca.get()) == 1 ? 1 : 0;
    });
    WritePem(key_file_, [&](FILE* f) {
      return PEM_write_PrivateKey(f, server_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    Key unrelated = NewKey();
    WritePem(unrelated_key_file_, [&](FILE* f) {
      return PEM_write_PrivateKey(f, unrelated.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
  }
  ~TestCertificates() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& ca_file() const { return ca_file_; }      // what a client should trust
  const std::string& cert_file() const { return cert_file_; }  // server certificate + CA
  const std::string& key_file() const { return key_file_; }    // the server's private key
  // A valid private key that belongs to no certificate here.
  const std::string& unrelated_key_file() const { return unrelated_key_file_; }

  // Writes `text` to `name` in the directory; returns the path.
  std::string WriteFile(const std::string& name, const std::string& text) const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

 private:
  using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
  using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

  static void Check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("test certificates: ") + what + " failed");
  }

  static Key NewKey() {
    Key key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    Check(key != nullptr, "EC key generation");
    return key;
  }

  // issuer == nullptr: self-signed.
  static Cert NewCertificate(const std::string& common_name, EVP_PKEY* key, X509* issuer,
                             EVP_PKEY* issuer_key, long serial,
                             const std::vector<std::pair<int, std::string>>& extensions) {
    Cert cert(X509_new(), &X509_free);
    Check(cert != nullptr, "X509_new");
    Check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");  // v3
    Check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
    Check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    Check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600) != nullptr, "notAfter");
    Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    Check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                     -1, -1, 0) == 1,
          "subject");
    Check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name) == 1,
          "issuer");
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] : extensions) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
      Check(ext != nullptr, "extension");
      int added = X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
      Check(added == 1, "X509_add_ext");
    }
    Check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
    return cert;
  }

  template <typename Write>
  static void WritePem(const std::string& path, Write write) {
    FILE* f = std::fopen(path.c_str(), "wb");
    Check(f != nullptr, "fopen");
    int ok = write(f);
    Check(std::fclose(f) == 0 && ok == 1, "PEM write");
  }

  std::string dir_;
  std::string ca_file_;
  std::string cert_file_;
  std::string key_file_;
  std::string unrelated_key_file_;
};

}  // namespace sluice::http::testing
