# gzip -9n INPUT > OUTPUT without a shell: maximum compression, no stored name or timestamp, so
# the same input always gives the same bytes (Debian policy 12.3; lintian's
# changelog-not-compressed-with-max-compression and package-contains-timestamped-gzip).
# Usage: cmake -DGZIP=/usr/bin/gzip -DINPUT=file -DOUTPUT=file.gz -P packaging/gzip.cmake
foreach(var IN ITEMS GZIP INPUT OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "gzip.cmake: -D${var}=... is required")
  endif()
endforeach()
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${GZIP}" -9n -c "${INPUT}" OUTPUT_FILE "${OUTPUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "gzip -9n ${INPUT} failed: ${rc}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
