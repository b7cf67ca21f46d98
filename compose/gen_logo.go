//go:build ignore

// gen_logo draws templates/logo.png, the default signature logo: a blue
// speech bubble with three dots, 64x64, a few hundred bytes. Run with
// `go run gen_logo.go` in this folder.
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	const size = 64
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x1e, 0x6f, 0xd9, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			// Bubble: an ellipse plus a tail at the lower left.
			in := math.Pow((fx-32)/28, 2)+math.Pow((fy-28)/22, 2) <= 1
			tail := fy >= 40 && fy <= 58 && fx >= 12 && fx <= 26 && (fx-12) >= (fy-40)*0.2 && (26-fx) >= (fy-40)*0.75
			if !in && !tail {
				continue
			}
			img.Set(x, y, blue)
			for _, cx := range []float64{20, 32, 44} {
				if math.Hypot(fx-cx, fy-28) <= 4.5 {
					img.Set(x, y, white)
				}
			}
		}
	}
	f, err := os.Create("templates/logo.png")
	if err != nil {
		log.Fatal(err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
