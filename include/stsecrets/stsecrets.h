// File: stsecrets/stsecrets.h
//
// Umbrella header of libstsecrets: resolve ENC[handle] secrets in agent configuration through a
// checked, sandboxed secret backend. See README.md for a walkthrough and docs/ for the reference.
#pragma once

#include "stsecrets/check.h"
#include "stsecrets/config.h"
#include "stsecrets/documents.h"
#include "stsecrets/error.h"
#include "stsecrets/fetcher.h"
#include "stsecrets/handles.h"
#include "stsecrets/host.h"
#include "stsecrets/logging.h"
#include "stsecrets/resolver.h"
#include "stsecrets/secure_buffer.h"
#include "stsecrets/serve.h"
