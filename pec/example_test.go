package pec_test

import (
	"fmt"
	"time"

	"github.com/pecsdk/pec/pec"
)

func ExampleSplitSubject() {
	prefix, original, _ := pec.SplitSubject("AVVISO DI MANCATA CONSEGNA: Contratto")
	fmt.Printf("%q %q %v\n", prefix, original, pec.KindsWithPrefix(prefix))
	// Output: "AVVISO DI MANCATA CONSEGNA: " "Contratto" [delivery-error]
}

func ExampleFormatDate() {
	day, clock, zone := pec.FormatDate(time.Date(2024, 12, 4, 23, 2, 10, 0, time.UTC))
	fmt.Println(day, clock, zone)
	// Output: 05/12/2024 00:02:10 +0100
}

func ExampleDeliveryKind() {
	fmt.Println(pec.DeliveryKind(pec.ReceiptShort, false), pec.DeliveryKind(pec.ReceiptShort, true))
	// Output: delivery-short delivery-summary
}
