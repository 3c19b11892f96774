/* sec_cfg.c -- [security] configuration table (owned by the sec module, docs/SECURITY.md). */
#include "meterflow/modcfg.h"

const struct mf_cfg_item sec_cfg[] = {
    { "security", "pw_mode", MF_CFG_ENUM, "zero", 0, 0, "zero|file|hmac",
      "PW of downlink AFN 01/04/05/06/0F/10 frames: zero = 16 zero bytes (scheme 0); file = "
      "the terminal's bytes from pw_key_file; hmac = HMAC-SHA256 of the frame's user data "
      "(PW zeroed) with the terminal's key from pw_key_file, first pw_mac_len bytes "
      "(docs/SECURITY.md)" },
    { "security", "pw_key_file", MF_CFG_STR, "", 0, 0, NULL,
      "key file for pw_mode file/hmac: lines `RRRR-TTTT HEX` or `default HEX`; mode 0600 "
      "(group/world access refused); re-read on SIGHUP" },
    { "security", "pw_mac_len", MF_CFG_INT, "4", 1, 16, NULL,
      "pw_mode = hmac: MAC bytes at the start of PW, the rest zero (the 2013 text: a 4-byte "
      "MAC and 12 reserved bytes); cut to the terminal's PW length" },
    MF_CFG_END,
};
