package leadcsv_test

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nurture-dev/nurture/engine/leadcsv"
)

// The loop an importer runs: good rows are saved, bad rows are reported with their
// line and the import carries on, and any other error stops it.
func ExampleReader() {
	file := "メールアドレス,氏名,会社名,従業員数\n" +
		"taro@example.co.jp,山田 太郎,株式会社サンプル,\"1,000名\"\n" +
		"hanako.example.co.jp,鈴木 花子,,\n" +
		"jiro@example.co.jp,,,たくさん\n"
	r, err := leadcsv.NewReader(strings.NewReader(file), leadcsv.Auto)
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		rec, err := r.Next()
		var rowErr *leadcsv.RowError
		switch {
		case err == io.EOF:
			return
		case errors.As(err, &rowErr):
			fmt.Println("skipped", rowErr)
			continue
		case err != nil:
			fmt.Println(err)
			return
		}
		fmt.Println(rec.Line, rec.Email, *rec.LastName, *rec.FirstName, *rec.Company, *rec.Employees)
	}
	// Output:
	// 2 taro@example.co.jp 山田 太郎 株式会社サンプル 1000
	// skipped line 3: email: "hanako.example.co.jp" is not an email address
	// skipped line 4: employees: "たくさん" is not a number of employees
}
