# Fuzz targets of src/audio; included from tests/fuzz/CMakeLists.txt.
voxgate_fuzzer(audio_decode_fuzzer
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/audio_decode_fuzzer.cc
  DEPS voxgate_audio)
voxgate_fuzzer(audio_wav_stream_fuzzer
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/audio_wav_stream_fuzzer.cc
  DEPS voxgate_audio)
