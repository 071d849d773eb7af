//! The GGUF reader over arbitrary bytes: parsing a header and reading every tensor it
//! describes (dequantised, and as Q4 blocks where it is Q4) must end in a value or an
//! error, never a panic, an overflow or an out-of-bounds read.

#![no_main]

use constitutional_rag::inference::gguf::GgufFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(file) = GgufFile::parse(input.to_vec()) else {
        return;
    };
    for key in file.metadata.keys() {
        assert!(file.get(key).is_some());
    }
    let names: Vec<String> = file.tensors.iter().map(|t| t.name.clone()).collect();
    for name in &names {
        if let Ok(tensor) = file.dequantize(name) {
            let info = file.tensor_info(name).expect("listed tensor");
            assert_eq!(tensor.size(), info.shape(), "{name}: shape");
        }
        let _ = file.q4_blocks(name);
    }
});
