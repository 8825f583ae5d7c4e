# Run by tickerd_embed() at build time: writes OUTPUT, a C++ file defining
# `const std::string_view tickerd::assets::<SYMBOL>` with the bytes of INPUT.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# One long line is legal but hard on editors and compilers' diagnostics: break it now and then.
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}" "// Generated from ${INPUT} by cmake/embed_file.cmake; do not edit.
#include <string_view>
namespace {
const unsigned char kBytes[] = {${bytes}0x00};
}
namespace tickerd::assets {
extern const std::string_view ${SYMBOL};
const std::string_view ${SYMBOL}{reinterpret_cast<const char*>(kBytes), ${size}};
}  // namespace tickerd::assets
")
