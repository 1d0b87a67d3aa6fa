#include "smtp/sasl/factory.hpp"

#include "smtp/sasl/callback_mechanism.hpp"
#include "smtp/sasl/cram_md5.hpp"
#include "smtp/sasl/login.hpp"
#include "smtp/sasl/plain.hpp"
#include "smtp/sasl/scram.hpp"
#include "smtp/sasl/xoauth2.hpp"

namespace smtp::sasl {
namespace {

constexpr std::string_view password_mechanisms[] = {"SCRAM-SHA-256", "CRAM-MD5", "PLAIN", "LOGIN"};

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) {
      if (auto name = normalize_mechanism_name(text.substr(start, i - start))) {
        words.push_back(std::move(*name));
      }
    }
  }
  return words;
}

}  // namespace

std::vector<std::string_view> preference_order(const credentials& creds) {
  std::vector<std::string_view> order;
  if (creds.oauth2_token) order.emplace_back("XOAUTH2");
  if (creds.password)
    order.insert(order.end(), std::begin(password_mechanisms), std::end(password_mechanisms));
  return order;
}

std::optional<std::string_view> choose_mechanism(std::string_view advertised,
                                                 const credentials& creds) {
  const auto offered = split_words(advertised);
  for (const std::string_view wanted : preference_order(creds)) {
    for (const auto& name : offered) {
      if (name == wanted) return wanted;
    }
  }
  return std::nullopt;
}

std::unique_ptr<mechanism> make_mechanism(std::string_view name, const credentials& creds,
                                          std::string client_nonce) {
  const auto normalized = normalize_mechanism_name(name);
  if (!normalized) return nullptr;
  const std::string& n = *normalized;
  if (n == "XOAUTH2") {
    if (!creds.oauth2_token) return nullptr;
    return std::make_unique<xoauth2>(creds.user, *creds.oauth2_token);
  }
  if (!creds.password) return nullptr;
  if (n == "SCRAM-SHA-256") {
    if (client_nonce.empty()) client_nonce = scram_sha256::random_nonce();
    return std::make_unique<scram_sha256>(creds.user, *creds.password, std::move(client_nonce));
  }
  if (n == "CRAM-MD5") return std::make_unique<cram_md5>(creds.user, *creds.password);
  if (n == "PLAIN") return std::make_unique<plain>(creds.user, *creds.password, creds.authzid);
  if (n == "LOGIN") return std::make_unique<login>(creds.user, *creds.password);
  return nullptr;
}

}  // namespace smtp::sasl
