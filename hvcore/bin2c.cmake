# cmake -DIN=FILE -DOUT=HEADER -DNAME=SYMBOL -P bin2c.cmake: FILE's bytes
# as `static const unsigned char SYMBOL[]` in HEADER.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n\t" bytes "${bytes}")
file(WRITE ${OUT} "/* generated from ${NAME}'s binary by hvcore/bin2c.cmake */\nstatic const unsigned char ${NAME}[] = {\n\t${bytes}\n};\n")
