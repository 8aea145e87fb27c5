# embed_file.cmake - writes the bytes of IN as a C array NAME (and NAME_len) into the header OUT, so a
# resource (host/pipeline/web_page.html) is compiled into the program. Run by the build:
#   cmake -DIN=file -DOUT=header.h -DNAME=symbol -P tools/embed_file.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR n "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp" "/* generated from ${IN} by tools/embed_file.cmake: do not edit */\n"
  "static const unsigned char ${NAME}[] = {\n${bytes}0x00};\nstatic const size_t ${NAME}_len = ${n};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
