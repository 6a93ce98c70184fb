// STS AssumeRole / AssumeRoleWithWebIdentity over HttpCall; see sts_client.h.
#include "cache/s3/sts_client.h"

#include "cache/s3/credential_http.h"
#include "cache/s3/s3_url.h"
#include "cache/s3/s3_xml.h"
#include "cache/s3/sigv4.h"

namespace s3nbd {
namespace {

std::string FormBody(const QueryList& params) { return CanonicalQueryString(params); }

QueryList BaseParams(const char* action, const AssumeRoleRequest& r) {
  QueryList q = {{"Action", action},
                 {"Version", "2011-06-15"},
                 {"RoleArn", r.role_arn},
                 {"RoleSessionName", r.session_name}};
  if (r.duration_seconds > 0) q.emplace_back("DurationSeconds", std::to_string(r.duration_seconds));
  if (!r.external_id.empty()) q.emplace_back("ExternalId", r.external_id);
  return q;
}

Result<Credentials> Post(const StsTarget& target, const std::string& body, const Credentials* signer,
                         const std::string& what) {
  auto ep = ParseEndpoint(target.endpoint);
  if (!ep.ok()) return ep.status().Wrap(what + ": STS endpoint");
  const std::string host = ep->port.empty() ? ep->host : ep->host + ":" + ep->port;
  const std::string path = ep->base_path.empty() ? "/" : ep->base_path + "/";
  const std::string payload_hash = Sha256Hex(body);
  HeaderList headers = {{"Host", host},
                        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                        {"x-amz-date", AmzDate(std::time(nullptr))},
                        {"x-amz-content-sha256", payload_hash}};
  if (signer != nullptr) {
    if (!signer->session_token.empty()) {
      headers.emplace_back("x-amz-security-token", signer->session_token);
    }
    SigV4Request sig{"POST", path, {}, headers, payload_hash,
                     target.region.empty() ? "us-east-1" : target.region, "sts", headers[2].second};
    headers.emplace_back("Authorization", SignV4(sig, *signer).authorization);
  }
  HttpExchange x;
  x.method = "POST";
  x.url = ep->scheme + "://" + host + path;
  x.headers = std::move(headers);
  x.body = body;
  x.ca_file = target.ca_file;
  // Bounded: a refresh runs on the request that found the credentials due (~21 s at worst).
  x.connect_timeout_ms = 3000;
  x.timeout_ms = 10000;
  x.attempts = 2;
  auto reply = HttpCall(x);
  if (!reply.ok()) return reply.status().Wrap(what);
  return ParseStsResponse(reply->body, reply->status, what);
}

}  // namespace

StsTarget StsTargetFor(const std::string& override_url, const std::string& region,
                       const std::string& ca_file) {
  StsTarget t;
  t.region = region.empty() ? "us-east-1" : region;
  t.ca_file = ca_file;
  if (!override_url.empty()) {
    t.endpoint = override_url;
  } else if (!region.empty()) {
    t.endpoint = "https://sts." + region + ".amazonaws.com";
  } else {
    t.endpoint = "https://sts.amazonaws.com";
  }
  while (!t.endpoint.empty() && t.endpoint.back() == '/') t.endpoint.pop_back();
  return t;
}

Result<Credentials> ParseStsResponse(const std::string& xml, long http_status,
                                     const std::string& what) {
  if (http_status != 200) {
    S3XmlError e = ParseErrorDocument(xml);
    if (e.code.empty()) {
      // STS wraps its <Error> in <ErrorResponse>; ParseErrorDocument wants a top-level one.
      auto codes = XmlElements(xml, "Code");
      auto msgs = XmlElements(xml, "Message");
      if (!codes.empty()) e.code = std::string(codes[0]);
      if (!msgs.empty()) e.message = std::string(msgs[0]);
    }
    std::string msg = what + ": HTTP " + std::to_string(http_status);
    if (!e.code.empty()) msg += " " + e.code;
    if (!e.message.empty()) msg += ": " + e.message;
    return Status::Error(http_status == 403 || http_status == 401 ? EACCES : EIO, msg);
  }
  auto block = XmlElements(xml, "Credentials");
  if (block.empty()) return Status::Error(EPROTO, what + ": answer has no <Credentials>");
  auto field = [&](const char* tag) -> std::string {
    auto v = XmlElements(block[0], tag);
    if (v.empty()) return "";
    auto u = XmlUnescape(v[0]);
    return u.ok() ? *u : "";
  };
  Credentials c;
  c.access_key = field("AccessKeyId");
  c.secret_key = field("SecretAccessKey");
  c.session_token = field("SessionToken");
  if (c.access_key.empty() || c.secret_key.empty() || c.session_token.empty()) {
    return Status::Error(EPROTO, what + ": answer lacks AccessKeyId, SecretAccessKey or SessionToken");
  }
  auto exp = ParseIso8601(field("Expiration"));
  if (!exp.ok()) return exp.status().Wrap(what);
  c.expiration = *exp;
  return c;
}

Result<Credentials> StsAssumeRole(const StsTarget& target, const Credentials& source,
                                  const AssumeRoleRequest& request) {
  const std::string what = "STS AssumeRole of " + request.role_arn + " at " + target.endpoint;
  return Post(target, FormBody(BaseParams("AssumeRole", request)), &source, what);
}

Result<Credentials> StsAssumeRoleWithWebIdentity(const StsTarget& target,
                                                 const AssumeRoleRequest& request,
                                                 const std::string& web_identity_token) {
  const std::string what =
      "STS AssumeRoleWithWebIdentity of " + request.role_arn + " at " + target.endpoint;
  QueryList q = BaseParams("AssumeRoleWithWebIdentity", request);
  q.emplace_back("WebIdentityToken", web_identity_token);
  return Post(target, FormBody(q), nullptr, what);
}

}  // namespace s3nbd
