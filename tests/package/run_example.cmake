# Runs the docs/library.md example on an image made by qemu-img and checks
# that it prints the format and the virtual size.
set(img ${WORKDIR}/doc_example.qcow2)
execute_process(COMMAND qemu-img create -q -f qcow2 ${img} 41126400 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "qemu-img create failed")
endif()
execute_process(COMMAND ${EXAMPLE} ${img} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "qcow2" OR NOT out MATCHES "41126400")
  message(FATAL_ERROR "library example: rc=${rc}, output:\n${out}")
endif()
