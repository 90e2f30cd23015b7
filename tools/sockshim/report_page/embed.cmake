# Makes a C source of a file's bytes, for the command to carry the report's
# page (tools/sockshim/report_html.c): cmake -DINPUT=page.html
# -DOUTPUT=report_page.c -DSYMBOL=ss_report_page -P embed.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR length "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUTPUT}.tmp"
  "/* Made by tools/sockshim/report_page/embed.cmake from ${INPUT}. */\n"
  "#include <stddef.h>\n"
  "extern const unsigned char ${SYMBOL}[];\n"
  "extern const size_t ${SYMBOL}_len;\n"
  "const unsigned char ${SYMBOL}[] = {${bytes}0x00};\n"
  "const size_t ${SYMBOL}_len = ${length};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
