# Helper functions: one CMake target per library folder, tests, binaries and
# proto libraries. Modelled on absl_cc_library: every project target goes
# through here so warnings, C++ standard and include roots are set once.
include_guard(GLOBAL)

# Warnings applied to project code only (never to generated protobuf code).
# Designated initializers that omit defaulted fields are idiomatic C++20, hence
# -Wno-missing-field-initializers.
set(CRM_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers)

# crm_cc_library(NAME eventstore SRCS a.cc HDRS_DIR include DEPS crm::common ... )
# Creates crm_<NAME> with alias crm::<NAME>. Libraries with no SRCS are INTERFACE.
function(crm_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PRIVATE_DEPS;PUBLIC_INCLUDES" ${ARGN})
  set(target crm_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} ${ARG_SRCS})
    target_compile_options(${target} PRIVATE ${CRM_WARNINGS})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/include)
      target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
    endif()
    target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
  endif()
  add_library(crm::${ARG_NAME} ALIAS ${target})
endfunction()

# crm_cc_binary(NAME crm-bench SRCS main.cc DEPS ...)
function(crm_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${CRM_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# crm_cc_test(NAME eventstore_test SRCS a_test.cc DEPS ... LABELS kafka TIMEOUT 120)
# Labels: kafka (needs a broker), e2e (real service processes), crash (SIGKILL tests).
# Links gtest_main unless NO_MAIN is given; registers each test with CTest.
function(crm_cc_test)
  cmake_parse_arguments(ARG "NO_MAIN" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${CRM_WARNINGS})
  if(ARG_NO_MAIN)
    target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock)
  else()
    target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 60)
  endif()
  set(props TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    # One label per test: gtest_discover_tests (CMake 3.25) splits a list-valued
    # property into separate arguments, so a second label would be lost anyway.
    list(LENGTH ARG_LABELS n)
    if(n GREATER 1)
      message(FATAL_ERROR "crm_cc_test(${ARG_NAME}): one label only, got ${ARG_LABELS}")
    endif()
    list(APPEND props LABELS ${ARG_LABELS})
  endif()
  gtest_discover_tests(${ARG_NAME} TEST_PREFIX "${ARG_NAME}." PROPERTIES ${props}
    DISCOVERY_TIMEOUT 30)
endfunction()

# crm_proto_library(NAME proto_events PROTOS crm/events/v1/envelope.proto
#                   DEPS crm::proto_common GRPC)
# Runs protoc (and the gRPC plugin with mock code when GRPC is given) on files
# under ROOT (default ${CRM_PROTO_ROOT}, i.e. proto/; tests pass their own folder),
# producing crm::<NAME>. Generated headers are included as
# "crm/events/v1/envelope.pb.h". One target per proto package, shared by all users.
function(crm_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME;ROOT" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_ROOT)
    set(ARG_ROOT ${CRM_PROTO_ROOT})
  endif()
  set(out_dir ${CRM_PROTO_OUT_DIR})
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(dir ${proto} DIRECTORY)
    get_filename_component(base ${proto} NAME_WE)
    set(outputs ${out_dir}/${dir}/${base}.pb.h ${out_dir}/${dir}/${base}.pb.cc)
    set(args --cpp_out=${out_dir})
    if(ARG_GRPC)
      list(APPEND outputs ${out_dir}/${dir}/${base}.grpc.pb.h ${out_dir}/${dir}/${base}.grpc.pb.cc
                          ${out_dir}/${dir}/${base}_mock.grpc.pb.h)
      list(APPEND args --grpc_out=generate_mock_code=true:${out_dir}
                       --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    # The suite's own protos (proto/) are importable from a test's folder too
    # (e.g. crm/common/v1/bounds.proto).
    set(includes -I ${ARG_ROOT})
    if(NOT ARG_ROOT STREQUAL CRM_PROTO_ROOT)
      list(APPEND includes -I ${CRM_PROTO_ROOT})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc ${args} ${includes} ${ARG_ROOT}/${proto}
      DEPENDS ${ARG_ROOT}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(crm_${ARG_NAME} ${srcs})
  target_include_directories(crm_${ARG_NAME} PUBLIC ${out_dir})
  target_link_libraries(crm_${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(crm_${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
  add_library(crm::${ARG_NAME} ALIAS crm_${ARG_NAME})
endfunction()
