# cmake -DPDF=file.pdf -DOUT=file.c -P embed_pdf.cmake: the PDF's bytes as sca_startup_pdf()
# (NULL when the file is missing).
if(EXISTS ${PDF})
  file(READ ${PDF} hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR n "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n"
                       bytes "${bytes}")
  file(WRITE ${OUT}.tmp
       "#include <stddef.h>\n#include \"sca_fixture.h\"\n"
       "static const unsigned char pdf[${n}] = {\n${bytes}\n};\n"
       "const unsigned char *sca_startup_pdf(size_t *len)\n{\n    *len = sizeof(pdf);\n"
       "    return pdf;\n}\n")
else()
  file(WRITE ${OUT}.tmp
       "#include <stddef.h>\n#include \"sca_fixture.h\"\n"
       "const unsigned char *sca_startup_pdf(size_t *len)\n{\n    *len = 0;\n    return NULL;\n}\n")
endif()
file(RENAME ${OUT}.tmp ${OUT})
