package daticert_test

import (
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/pecsdk/pec/pec"
	"github.com/pecsdk/pec/pec/daticert"
)

func ExampleData_Marshal() {
	d := &daticert.Data{
		Type:   pec.CertDelivery,
		Sender: "alice@pec.example.it",
		Recipients: []daticert.Recipient{
			{Address: "bob@pec.example.com", Type: pec.RecipientCertified},
			{Address: "carol@example.org", Type: pec.RecipientExternal},
		},
		ReplyTo:     "alice@pec.example.it",
		Subject:     "Contratto",
		Provider:    "Example PEC S.p.A.",
		Time:        time.Date(2026, 9, 14, 7, 0, 7, 0, time.UTC),
		ID:          "opec123.20260914090005.1.2.3@pec.example.it",
		MsgID:       "<orig-1@client.example>",
		ReceiptType: pec.ReceiptFull,
		Delivery:    "bob@pec.example.com",
	}
	b, err := d.Marshal()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(b))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <postacert tipo="avvenuta-consegna" errore="nessuno">
	//   <intestazione>
	//     <mittente>alice@pec.example.it</mittente>
	//     <destinatari tipo="certificato">bob@pec.example.com</destinatari>
	//     <destinatari tipo="esterno">carol@example.org</destinatari>
	//     <risposte>alice@pec.example.it</risposte>
	//     <oggetto>Contratto</oggetto>
	//   </intestazione>
	//   <dati>
	//     <gestore-emittente>Example PEC S.p.A.</gestore-emittente>
	//     <data zona="+0200">
	//       <giorno>14/09/2026</giorno>
	//       <ora>09:00:07</ora>
	//     </data>
	//     <identificativo>opec123.20260914090005.1.2.3@pec.example.it</identificativo>
	//     <msgid>&lt;orig-1@client.example&gt;</msgid>
	//     <ricevuta tipo="completa"/>
	//     <consegna>bob@pec.example.com</consegna>
	//   </dati>
	// </postacert>
}

func ExampleParse() {
	const daticertXML = `<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="errore-consegna" errore="no-dest">
    <intestazione>
        <mittente>sender@pec.example.it</mittente>
        <destinatari tipo="certificato">rec@pec.example.com</destinatari>
        <risposte>sender@pec.example.it</risposte>
        <oggetto>Test PEC</oggetto>
    </intestazione>
    <dati>
        <gestore-emittente>Example PEC S.p.A.</gestore-emittente>
        <data zona="+0100">
            <giorno>15/11/2024</giorno>
            <ora>18:21:03</ora>
        </data>
        <identificativo>opec210312.20241115182038.288127.606.1.53@pec.example.it</identificativo>
        <consegna>rec@pec.example.com</consegna>
        <errore-esteso>5.1.1 - Example PEC S.p.A. - indirizzo non valido</errore-esteso>
    </dati>
</postacert>`
	d, err := daticert.Parse(strings.NewReader(daticertXML))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Type, d.Error)
	fmt.Println("certified recipients:", d.RecipientsOfType(pec.RecipientCertified))
	fmt.Println("delivery to:", d.Delivery)
	fmt.Println("when:", d.Time.UTC().Format(time.RFC3339))
	fmt.Println("why:", d.ExtendedError)
	// Output:
	// errore-consegna no-dest
	// certified recipients: [rec@pec.example.com]
	// delivery to: rec@pec.example.com
	// when: 2024-11-15T17:21:03Z
	// why: 5.1.1 - Example PEC S.p.A. - indirizzo non valido
}
