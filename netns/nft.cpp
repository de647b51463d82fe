#include "netns/nft.hpp"

#include <nftables/libnftables.h>

namespace sockchaos::netns {

struct NftContext::Impl {
  nft_ctx* ctx = nullptr;
  ~Impl() {
    if (ctx) nft_ctx_free(ctx);
  }
};

NftContext::NftContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NftContext::NftContext(NftContext&&) noexcept = default;
NftContext& NftContext::operator=(NftContext&&) noexcept = default;
NftContext::~NftContext() = default;

Result<NftContext> NftContext::open(const NetNs& ns) {
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  auto impl = std::make_unique<Impl>();
  impl->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!impl->ctx) return Error::plain("nft_ctx_new failed");
  nft_ctx_buffer_output(impl->ctx);
  nft_ctx_buffer_error(impl->ctx);
  return NftContext(std::move(impl));
}

Status NftContext::run(const std::string& commands) {
  int rc = nft_run_cmd_from_buffer(impl_->ctx, commands.c_str());
  if (rc != 0) {
    std::string err = nft_ctx_get_error_buffer(impl_->ctx);
    while (!err.empty() && err.back() == '\n') err.pop_back();
    return Error::plain("nftables: " + err);
  }
  return {};
}

Result<std::string> NftContext::list_ruleset() {
  int rc = nft_run_cmd_from_buffer(impl_->ctx, "list ruleset");
  if (rc != 0) return Error::plain(std::string("nftables: ") + nft_ctx_get_error_buffer(impl_->ctx));
  return std::string(nft_ctx_get_output_buffer(impl_->ctx));
}

}  // namespace sockchaos::netns
