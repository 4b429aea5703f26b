#include "glance/credentials.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>

#include "imgtool/error.hpp"

namespace imgtool::glance {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

bool truthy(const std::string& v) {
  return v == "1" || v == "true" || v == "True" || v == "TRUE" || v == "yes" || v == "on";
}

std::string normalise_auth_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 5 && url.compare(url.size() - 5, 5, "/v2.0") == 0)
    throw Error(ErrorKind::Usage, "",
                "auth URL " + url + " is Keystone v2.0; imgtool speaks Keystone v3 only");
  if (url.size() < 3 || url.compare(url.size() - 3, 3, "/v3") != 0) url += "/v3";
  return url;
}

AuthType parse_auth_type(const std::string& t, const std::string& where) {
  if (t == "password" || t == "v3password") return AuthType::Password;
  if (t == "v3applicationcredential" || t == "applicationcredential" || t == "v3_application_credential")
    return AuthType::ApplicationCredential;
  if (t == "token" || t == "v3token") return AuthType::Token;
  throw Error(
      ErrorKind::Unsupported, "",
      where + " auth type '" + t + "' is not supported (use password, v3applicationcredential or token)");
}

void infer_auth_type(Credentials& c, const std::string& explicit_type, const std::string& where) {
  if (!explicit_type.empty())
    c.auth_type = parse_auth_type(explicit_type, where);
  else if ((!c.app_cred_id.empty() || !c.app_cred_name.empty()) && !c.app_cred_secret.empty())
    c.auth_type = AuthType::ApplicationCredential;
  else if (!c.token.empty() && c.password.empty())
    c.auth_type = AuthType::Token;
  else
    c.auth_type = AuthType::Password;
}

void validate(Credentials& c, std::vector<std::string>& notes, bool from_env) {
  auto key = [&](const char* env_name, const char* yaml_name) {
    return std::string(from_env ? env_name : yaml_name);
  };
  if (c.auth_url.empty())
    throw Error(ErrorKind::Usage, "",
                "no Keystone URL: set OS_AUTH_URL (or choose a cloud with --os-cloud NAME / OS_CLOUD)");
  c.auth_url = normalise_auth_url(c.auth_url);
  switch (c.auth_type) {
    case AuthType::Password:
      if (c.username.empty() && c.user_id.empty())
        throw Error(ErrorKind::Usage, "",
                    "password auth needs " + key("OS_USERNAME", "auth.username") + " (" + c.source + ")");
      if (c.password.empty())
        throw Error(ErrorKind::Usage, "",
                    "password auth needs " + key("OS_PASSWORD", "auth.password") + " (" + c.source +
                        "; imgtool takes no password on the command line)");
      if (c.user_id.empty() && c.user_domain_name.empty() && c.user_domain_id.empty())
        c.user_domain_id = "default";
      if (!c.project_name.empty() && c.project_domain_name.empty() && c.project_domain_id.empty())
        c.project_domain_id = "default";
      break;
    case AuthType::ApplicationCredential: {
      if (c.app_cred_secret.empty())
        throw Error(ErrorKind::Usage, "",
                    "application credential auth needs " +
                        key("OS_APPLICATION_CREDENTIAL_SECRET", "auth.application_credential_secret"));
      if (c.app_cred_id.empty() && (c.app_cred_name.empty() || (c.username.empty() && c.user_id.empty())))
        throw Error(ErrorKind::Usage, "",
                    "application credential auth needs " +
                        key("OS_APPLICATION_CREDENTIAL_ID", "auth.application_credential_id") +
                        " (or its name plus the user)");
      // Keystone: "Application credentials cannot request a scope" (401).
      std::vector<std::string> dropped;
      if (!c.project_name.empty()) dropped.push_back(key("OS_PROJECT_NAME", "project_name"));
      if (!c.project_id.empty()) dropped.push_back(key("OS_PROJECT_ID", "project_id"));
      if (!c.project_domain_name.empty())
        dropped.push_back(key("OS_PROJECT_DOMAIN_NAME", "project_domain_name"));
      if (!c.project_domain_id.empty()) dropped.push_back(key("OS_PROJECT_DOMAIN_ID", "project_domain_id"));
      if (!dropped.empty()) {
        std::string list;
        for (const auto& d : dropped) list += (list.empty() ? "" : ", ") + d;
        notes.push_back("ignoring " + list +
                        ": an application credential carries its own project (Keystone refuses a scope)");
      }
      c.project_name.clear();
      c.project_id.clear();
      c.project_domain_name.clear();
      c.project_domain_id.clear();
      if (c.user_id.empty() && c.user_domain_name.empty() && c.user_domain_id.empty())
        c.user_domain_id = "default";
      break;
    }
    case AuthType::Token:
      if (c.token.empty())
        throw Error(ErrorKind::Usage, "", "token auth needs " + key("OS_TOKEN", "auth.token"));
      break;
  }
}

Credentials from_environment(std::vector<std::string>& notes) {
  Credentials c;
  c.source = "environment";
  c.auth_url = env("OS_AUTH_URL");
  c.username = env("OS_USERNAME");
  c.user_id = env("OS_USER_ID");
  c.password = env("OS_PASSWORD");
  c.user_domain_name = env("OS_USER_DOMAIN_NAME");
  c.user_domain_id = env("OS_USER_DOMAIN_ID");
  c.project_name = env("OS_PROJECT_NAME");
  if (c.project_name.empty()) c.project_name = env("OS_TENANT_NAME");
  c.project_id = env("OS_PROJECT_ID");
  if (c.project_id.empty()) c.project_id = env("OS_TENANT_ID");
  c.project_domain_name = env("OS_PROJECT_DOMAIN_NAME");
  c.project_domain_id = env("OS_PROJECT_DOMAIN_ID");
  c.app_cred_id = env("OS_APPLICATION_CREDENTIAL_ID");
  c.app_cred_name = env("OS_APPLICATION_CREDENTIAL_NAME");
  c.app_cred_secret = env("OS_APPLICATION_CREDENTIAL_SECRET");
  c.token = env("OS_TOKEN");
  c.region = env("OS_REGION_NAME");
  if (!env("OS_INTERFACE").empty()) c.interface = env("OS_INTERFACE");
  c.cacert = env("OS_CACERT");
  c.insecure = truthy(env("OS_INSECURE"));
  c.image_endpoint_override = env("OS_IMAGE_ENDPOINT_OVERRIDE");
  infer_auth_type(c, env("OS_AUTH_TYPE"), "OS_AUTH_TYPE");
  validate(c, notes, true);
  return c;
}

// openstackclient takes every --os-* option's default from its OS_*
// variable and lets those values override the chosen cloud's clouds.yaml
// entry (openstack.config get_one_cloud(argparse=...)): a variable that is
// set wins over the file. The note names the variables, never their values.
void override_from_environment(Credentials& c, std::string& auth_type, std::vector<std::string>& notes) {
  struct Var {
    const char* name;
    std::string* field;
  };
  const Var vars[] = {{"OS_AUTH_URL", &c.auth_url},
                      {"OS_AUTH_TYPE", &auth_type},
                      {"OS_USERNAME", &c.username},
                      {"OS_USER_ID", &c.user_id},
                      {"OS_PASSWORD", &c.password},
                      {"OS_USER_DOMAIN_NAME", &c.user_domain_name},
                      {"OS_USER_DOMAIN_ID", &c.user_domain_id},
                      {"OS_PROJECT_NAME", &c.project_name},
                      {"OS_PROJECT_ID", &c.project_id},
                      {"OS_PROJECT_DOMAIN_NAME", &c.project_domain_name},
                      {"OS_PROJECT_DOMAIN_ID", &c.project_domain_id},
                      {"OS_APPLICATION_CREDENTIAL_ID", &c.app_cred_id},
                      {"OS_APPLICATION_CREDENTIAL_NAME", &c.app_cred_name},
                      {"OS_APPLICATION_CREDENTIAL_SECRET", &c.app_cred_secret},
                      {"OS_TOKEN", &c.token},
                      {"OS_REGION_NAME", &c.region},
                      {"OS_INTERFACE", &c.interface},
                      {"OS_CACERT", &c.cacert}};
  std::string used;
  for (const Var& v : vars) {
    std::string value = env(v.name);
    if (value.empty() || value == *v.field) continue;
    *v.field = std::move(value);
    used += (used.empty() ? "" : ", ") + std::string(v.name);
  }
  if (!env("OS_INSECURE").empty() && truthy(env("OS_INSECURE")) != c.insecure) {
    c.insecure = truthy(env("OS_INSECURE"));
    used += (used.empty() ? "" : ", ") + std::string("OS_INSECURE");
  }
  if (!used.empty())
    notes.push_back(used + " from the environment override " + c.source + ", as in openstackclient");
}

// Deep merge (secure.yaml into clouds.yaml): maps merge, scalars replace.
YAML::Node merge(YAML::Node base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  for (const auto& kv : over) {
    std::string k = kv.first.as<std::string>();
    base[k] = base[k] ? merge(base[k], kv.second) : YAML::Clone(kv.second);
  }
  return base;
}

std::string find_first(const std::vector<std::string>& names) {
  for (const auto& p : names) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return "";
}

YAML::Node load_yaml(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(ErrorKind::Usage, path, std::string("cannot parse: ") + e.what());
  }
}

std::string str(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap() || !n[key]) return "";
  const YAML::Node v = n[key];
  if (!v.IsScalar()) return "";
  return v.Scalar();
}

Credentials from_cloud(const std::string& name, std::vector<std::string>& notes) {
  std::vector<std::string> candidates = clouds_yaml_candidates();
  std::string path = find_first(candidates);
  if (path.empty())
    throw Error(ErrorKind::Usage, "",
                "cloud '" + name +
                    "' requested but no clouds.yaml found (looked in $OS_CLIENT_CONFIG_FILE, ./, "
                    "~/.config/openstack, /etc/xdg/openstack, /etc/openstack)");
  YAML::Node root = load_yaml(path);
  YAML::Node cloud = root["clouds"] ? root["clouds"][name] : YAML::Node();
  if (!cloud || !cloud.IsMap()) {
    std::string list;
    if (root["clouds"] && root["clouds"].IsMap())
      for (const auto& kv : root["clouds"]) list += (list.empty() ? "" : ", ") + kv.first.as<std::string>();
    throw Error(ErrorKind::Usage, path,
                "no cloud named '" + name + "' (clouds here: " + (list.empty() ? "none" : list) + ")");
  }
  cloud = YAML::Clone(cloud);
  // secure.yaml beside the same search path holds the secrets.
  std::vector<std::string> secure;
  for (const auto& c : candidates) {
    auto dir = std::filesystem::path(c).parent_path();
    for (const char* n : {"secure.yaml", "secure.yml", "secure.json"}) secure.push_back((dir / n).string());
  }
  if (std::string sp = find_first(secure); !sp.empty()) {
    YAML::Node s = load_yaml(sp);
    if (s["clouds"] && s["clouds"][name]) cloud = merge(cloud, s["clouds"][name]);
  }
  Credentials c;
  c.source = "cloud '" + name + "' in " + path;
  YAML::Node auth = cloud["auth"];
  c.auth_url = str(auth, "auth_url");
  c.username = str(auth, "username");
  c.user_id = str(auth, "user_id");
  c.password = str(auth, "password");
  c.user_domain_name = str(auth, "user_domain_name");
  c.user_domain_id = str(auth, "user_domain_id");
  c.project_name = str(auth, "project_name");
  if (c.project_name.empty()) c.project_name = str(auth, "tenant_name");
  c.project_id = str(auth, "project_id");
  c.project_domain_name = str(auth, "project_domain_name");
  c.project_domain_id = str(auth, "project_domain_id");
  c.app_cred_id = str(auth, "application_credential_id");
  c.app_cred_name = str(auth, "application_credential_name");
  c.app_cred_secret = str(auth, "application_credential_secret");
  c.token = str(auth, "token");
  c.region = str(cloud, "region_name");
  if (!str(cloud, "interface").empty()) c.interface = str(cloud, "interface");
  c.cacert = str(cloud, "cacert");
  std::string verify = str(cloud, "verify");
  if (verify == "false" || verify == "False" || verify == "no") c.insecure = true;
  if (truthy(str(cloud, "insecure"))) c.insecure = true;
  c.image_endpoint_override = str(cloud, "image_endpoint_override");
  std::string auth_type = str(cloud, "auth_type");
  override_from_environment(c, auth_type, notes);
  infer_auth_type(c, auth_type, "clouds.yaml");
  validate(c, notes, false);
  return c;
}

}  // namespace

std::vector<std::string> clouds_yaml_candidates() {
  std::vector<std::string> out;
  if (std::string f = env("OS_CLIENT_CONFIG_FILE"); !f.empty()) out.push_back(f);
  std::vector<std::string> dirs{"."};
  if (std::string home = env("HOME"); !home.empty()) dirs.push_back(home + "/.config/openstack");
  dirs.push_back("/etc/xdg/openstack");
  dirs.push_back("/etc/openstack");
  for (const auto& d : dirs)
    for (const char* n : {"clouds.yaml", "clouds.yml", "clouds.json"}) out.push_back(d + "/" + n);
  return out;
}

Credentials load_credentials(const std::string& cloud, std::vector<std::string>& notes) {
  std::string name = cloud.empty() ? env("OS_CLOUD") : cloud;
  if (!name.empty()) return from_cloud(name, notes);
  return from_environment(notes);
}

Credentials connection_credentials(const GlanceConnection& conn, std::vector<std::string>& notes) {
  Credentials c = load_credentials(conn.cloud, notes);
  if (!conn.cacert.empty()) c.cacert = conn.cacert;
  if (conn.insecure) c.insecure = true;
  c.stall_timeout_seconds = conn.stall_timeout_seconds;
  if (!conn.region.empty()) c.region = conn.region;
  if (!conn.interface.empty()) c.interface = conn.interface;
  // keystoneauth also takes the v2 catalog's spelling ("publicURL").
  if (c.interface.size() > 3 && c.interface.compare(c.interface.size() - 3, 3, "URL") == 0)
    c.interface.resize(c.interface.size() - 3);
  if (c.interface != "public" && c.interface != "internal" && c.interface != "admin")
    throw Error(ErrorKind::Usage, "",
                "interface '" + c.interface +
                    "' is not one of public, internal, admin (--os-interface / OS_INTERFACE)");
  if (c.insecure) notes.push_back("TLS certificate verification is off (--insecure / OS_INSECURE)");
  return c;
}

}  // namespace imgtool::glance
