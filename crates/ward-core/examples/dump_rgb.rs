//! Development aid: decode an image with Ward's decoder and write its raw RGB to stdout.
use std::io::Write;
fn main() {
    let path = std::env::args().nth(1).expect("path");
    let bytes = std::fs::read(&path).unwrap();
    let picture = ward_core::decode::decode(&bytes, &Default::default()).unwrap();
    eprintln!("{}x{} {:?}", picture.width(), picture.height(), picture);
    let rgb: Vec<u8> = match picture.pixels() {
        ward_core::decode::Pixels::Rgb(s) => s.clone(),
        ward_core::decode::Pixels::Grey(s) => s.iter().flat_map(|&v| [v, v, v]).collect(),
    };
    std::io::stdout().write_all(&rgb).unwrap();
}
