// SPDX-License-Identifier: MIT
#pragma once
#include <iosfwd>
#include <memory>

#include "tcplife/output/sink.hpp"

namespace tcplife::output {

// The text report for people (see README "Text output").
std::unique_ptr<Sink> make_text_sink(std::ostream& out, const OutputOptions& opts,
                                     const LadderRecorder* ladder);

}  // namespace tcplife::output
