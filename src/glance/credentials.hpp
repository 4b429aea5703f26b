#pragma once
// Where the credentials come from, the way openstackclient finds them:
// a named cloud (--os-cloud / OS_CLOUD) in clouds.yaml (+ secure.yaml), or
// the OS_* environment. Secrets are read only from there: never from the
// command line, so they never show in /proc/PID/cmdline.
#include <string>
#include <vector>

#include "imgtool/glance.hpp"

namespace imgtool::glance {

enum class AuthType { Password, ApplicationCredential, Token };

struct Credentials {
  std::string auth_url;  // normalised to end with /v3
  AuthType auth_type = AuthType::Password;
  std::string username, user_id, password, user_domain_name, user_domain_id;
  std::string project_name, project_id, project_domain_name, project_domain_id;
  std::string app_cred_id, app_cred_name, app_cred_secret;
  std::string token;
  std::string region;  // OS_REGION_NAME / region_name; empty = any
  std::string interface = "public";
  std::string cacert;                   // OS_CACERT / cacert
  bool insecure = false;                // OS_INSECURE / verify: false
  long stall_timeout_seconds = 300;     // --timeout (command line only)
  std::string image_endpoint_override;  // OS_IMAGE_ENDPOINT_OVERRIDE / image_endpoint_override
  std::string source;                   // "environment" or "cloud 'x' in /path/clouds.yaml"
};

// Loads the credentials. `cloud` (--os-cloud) wins over OS_CLOUD; with a
// cloud, only clouds.yaml/secure.yaml are read (plus OS_CLIENT_CONFIG_FILE to
// find them); without one, the OS_* variables. `notes` receives one-line
// remarks for stderr (ignored leftover variables). Throws Error(Usage) when
// something needed is missing, naming the variable or key to set.
Credentials load_credentials(const std::string& cloud, std::vector<std::string>& notes);

// load_credentials(conn.cloud) with the command line's --os-cacert,
// --insecure, --os-region-name and --os-interface on top (the command line
// wins over OS_* and clouds.yaml, as in openstackclient). Adds the note that
// TLS verification is off when it is.
Credentials connection_credentials(const GlanceConnection& conn, std::vector<std::string>& notes);

// The clouds.yaml candidates in openstacksdk's order (config/loader.py):
// $OS_CLIENT_CONFIG_FILE, ./, ~/.config/openstack, /etc/xdg/openstack,
// /etc/openstack; each as clouds.yaml, clouds.yml, clouds.json.
std::vector<std::string> clouds_yaml_candidates();

}  // namespace imgtool::glance
