#include "smtp/algo/lost_after_end.hpp"

namespace smtp::algo {

std::exception_ptr lost_after_end(std::exception_ptr cause, bool lmtp,
                                  const std::vector<std::string>& accepted, std::size_t answered,
                                  const RefusedRecipients& refused) {
  if (!lmtp || answered == 0) return mark_delivery_unknown(std::move(cause));
  // Only a connection the server closed says the replies read were all it sent. After a timeout
  // (a reply may have been dropped) or a reply that did not fit, the replies already read may
  // belong to other recipients: the whole message is unknown.
  try {
    std::rethrow_exception(cause);
  } catch (const SMTPTimeoutError&) {
    return mark_delivery_unknown(std::move(cause));
  } catch (const SMTPProtocolError&) {
    return mark_delivery_unknown(std::move(cause));
  } catch (const SSLError&) {
    return mark_delivery_unknown(std::move(cause));
  } catch (...) {
  }
  std::vector<std::string> delivered;
  std::vector<std::string> unanswered;
  RefusedRecipients refused_here;
  for (std::size_t i = 0; i < accepted.size(); ++i) {
    const std::string& a = accepted[i];
    if (i >= answered) {
      unanswered.push_back(a);
    } else if (auto it = refused.find(a); it != refused.end()) {
      refused_here.emplace(a, it->second);
    } else {
      delivered.push_back(a);
    }
  }
  std::string what = "connection lost";
  try {
    std::rethrow_exception(cause);
  } catch (const std::exception& e) {
    what = e.what();
  }
  SMTPPartialDelivery partial(what, std::move(delivered), std::move(refused_here),
                              std::move(unanswered));
  return partial.unanswered.empty() ? std::make_exception_ptr(partial)
                                    : partial.marked_delivery_unknown();
}

}  // namespace smtp::algo
